"""Reads CloudFormation templates (JSON) and prints, as JSON, the access
entries they declare (principal, type, username, groups, policies with
scopes). Refuses (exit 1) a property AWS::EKS::AccessEntry does not have
(ClusterName, PrincipalArn, Type, Username, KubernetesGroups, AccessPolicies,
Tags; AccessPolicies[].PolicyArn, AccessScope{Type, Namespaces}). Usage:
cloudformation_entries.py FILE..."""
import json
import sys

ENTRY = {"ClusterName", "PrincipalArn", "Type", "Username", "KubernetesGroups", "AccessPolicies", "Tags"}
POLICY = {"PolicyArn", "AccessScope"}
SCOPE = {"Type", "Namespaces"}


def only(d, allowed, what):
    if not set(d) <= allowed:
        print(f"{what} has properties the resource does not: {sorted(set(d) - allowed)}", file=sys.stderr)
        sys.exit(1)
    return d


out = {}
for path in sys.argv[1:]:
    with open(path) as f:
        template = json.load(f)
    entries = []
    for name, r in template["Resources"].items():
        if r["Type"] == "AWS::CloudFormation::WaitConditionHandle":
            continue
        if r["Type"] != "AWS::EKS::AccessEntry":
            print(f"{path}: unexpected resource {r['Type']}", file=sys.stderr)
            sys.exit(1)
        p = only(r["Properties"], ENTRY, name)
        entries.append({
            "principalArn": p["PrincipalArn"],
            "type": p.get("Type", "STANDARD"),
            "username": p.get("Username"),
            "kubernetesGroups": p.get("KubernetesGroups", []),
            "accessPolicies": [{
                "policyArn": only(a, POLICY, name)["PolicyArn"],
                "accessScope": {
                    "type": only(a["AccessScope"], SCOPE, name)["Type"],
                    "namespaces": a["AccessScope"].get("Namespaces", []),
                },
            } for a in p.get("AccessPolicies", [])],
        })
    out[path] = {"entries": entries}
print(json.dumps(out))
