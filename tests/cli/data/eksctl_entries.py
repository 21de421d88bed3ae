"""Reads eksctl ClusterConfig files with PyYAML and prints, as JSON, the
access entries of their accessConfig (principal, type, username, groups,
policies with scopes). Refuses (exit 1) any field eksctl's ClusterConfig
does not have in these places (from eksctl's access entries schema:
accessConfig.accessEntries[].principalARN, type, kubernetesUsername,
kubernetesGroups, accessPolicies[].policyARN, accessScope{type,
namespaces}). Usage: eksctl_entries.py FILE..."""
import json
import subprocess
import sys

try:
    import yaml
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "pyyaml"], check=True)
    import yaml

TOP = {"apiVersion", "kind", "metadata", "accessConfig"}
ACCESS = {"authenticationMode", "bootstrapClusterCreatorAdminPermissions", "accessEntries"}
ENTRY = {"principalARN", "type", "kubernetesUsername", "kubernetesGroups", "accessPolicies"}
POLICY = {"policyARN", "accessScope"}
SCOPE = {"type", "namespaces"}


def only(d, allowed, what):
    if not isinstance(d, dict) or not set(d) <= allowed:
        print(f"{what} has fields ClusterConfig does not: {sorted(set(d) - allowed)}", file=sys.stderr)
        sys.exit(1)
    return d


out = {}
for path in sys.argv[1:]:
    with open(path) as f:
        doc = only(yaml.safe_load(f), TOP, "the file")
    if doc.get("kind") != "ClusterConfig" or doc.get("apiVersion") != "eksctl.io/v1alpha5":
        print(f"{path}: not an eksctl ClusterConfig", file=sys.stderr)
        sys.exit(1)
    entries = []
    for e in only(doc["accessConfig"], ACCESS, "accessConfig").get("accessEntries") or []:
        only(e, ENTRY, "an access entry")
        entries.append({
            "principalArn": e["principalARN"],
            "type": e.get("type", "STANDARD"),
            "username": e.get("kubernetesUsername"),
            "kubernetesGroups": e.get("kubernetesGroups", []),
            "accessPolicies": [{
                "policyArn": only(p, POLICY, "an access policy")["policyARN"],
                "accessScope": {
                    "type": only(p["accessScope"], SCOPE, "an access scope")["type"],
                    "namespaces": p["accessScope"].get("namespaces", []),
                },
            } for p in e.get("accessPolicies", [])],
        })
    out[path] = {"entries": entries}
print(json.dumps(out))
