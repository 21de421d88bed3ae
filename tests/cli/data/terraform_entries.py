"""Reads Terraform files with python-hcl2 (an HCL2 parser) and prints, as JSON,
the access entries they declare: for each aws_eks_access_entry its principal,
type, user name and groups, with the policies associated with it. Refuses
(exit 1) any block or attribute the hashicorp/aws provider's schema for these
two resources does not have (the lists below are from the provider's docs:
aws_eks_access_entry, aws_eks_access_policy_association), and an import whose
`to` names no resource. Usage: terraform_entries.py FILE..."""
import json
import subprocess
import sys

try:
    import hcl2
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "python-hcl2"], check=True)
    import hcl2

ENTRY = {"cluster_name", "principal_arn", "type", "user_name", "kubernetes_groups", "tags"}
ASSOCIATION = {"cluster_name", "principal_arn", "policy_arn", "access_scope"}
SCOPE = {"type", "namespaces"}
VARIABLE = {"type", "description", "default"}
IMPORT = {"to", "id"}


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def text(v):
    """An HCL string literal as python-hcl2 keeps it (quoted), decoded."""
    if not (isinstance(v, str) and v.startswith('"') and v.endswith('"')):
        fail(f"not a string literal: {v!r}")
    return json.loads(v).replace("$${", "${").replace("%%{", "%{")


def fields(block, allowed, what):
    keys = {k for k in block if k != "__is_block__"}
    if not keys <= allowed:
        fail(f"{what} has attributes the provider does not: {sorted(keys - allowed)}")
    return block


def entries(doc):
    found, policies, imports = {}, [], []
    for v in doc.get("variable", []):
        for _, body in v.items():
            fields(body, VARIABLE, "a variable")
    for r in doc.get("resource", []):
        for kind, named in r.items():
            for name, body in named.items():
                kind, name = kind.strip('"'), name.strip('"')
                if kind == "aws_eks_access_entry":
                    fields(body, ENTRY, kind)
                    found[name] = {
                        "principalArn": text(body["principal_arn"]),
                        "type": text(body["type"]),
                        "username": text(body["user_name"]) if "user_name" in body else None,
                        "kubernetesGroups": [text(g) for g in body.get("kubernetes_groups", [])],
                        "accessPolicies": [],
                    }
                elif kind == "aws_eks_access_policy_association":
                    fields(body, ASSOCIATION, kind)
                    scope = fields(body["access_scope"][0], SCOPE, "access_scope")
                    entry = body["principal_arn"].removeprefix("${aws_eks_access_entry.").removesuffix(".principal_arn}")
                    policies.append((entry, {
                        "policyArn": text(body["policy_arn"]),
                        "accessScope": {
                            "type": text(scope["type"]),
                            "namespaces": [text(n) for n in scope.get("namespaces", [])],
                        },
                    }))
                else:
                    fail(f"unexpected resource {kind}")
    for i in doc.get("import", []):
        fields(i, IMPORT, "an import")
        imports.append(i["to"].removeprefix("${").removesuffix("}"))
    for entry, policy in policies:
        if entry not in found:
            fail(f"a policy association names no entry: {entry}")
        found[entry]["accessPolicies"].append(policy)
    names = {f"aws_eks_access_entry.{n}" for n in found}
    names |= {f"aws_eks_access_policy_association.{r}" for r in
              (n.strip('"') for res in doc.get("resource", []) for k, v in res.items()
               if k.strip('"') == "aws_eks_access_policy_association" for n in v)}
    for to in imports:
        if to not in names:
            fail(f"an import names no resource: {to}")
    return list(found.values()), imports


out = {}
for path in sys.argv[1:]:
    with open(path) as f:
        es, imports = entries(hcl2.load(f))
    out[path] = {"entries": es, "imports": imports}
print(json.dumps(out))
