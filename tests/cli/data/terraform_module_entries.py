"""Reads the Terraform that `export --format terraform-module` writes, with
python-hcl2 (an HCL2 parser), and prints, as JSON, the access entries its
`migrate_auth_access_entries` map declares (for each: principal, type, user
name, groups, policies), with its import and moved blocks. Refuses (exit 1)
any key the access_entries variable of terraform-aws-modules/eks/aws (v20,
v21) does not have, any other block, an import or moved block whose `to` is
not the module's address of an entry or association of the map (the module
names them aws_eks_access_entry.this["KEY"] and
aws_eks_access_policy_association.this["KEY_POLICY"]), and a moved block
whose `from` is not the plain Terraform export's address of the same entry
or association. Usage: terraform_module_entries.py MODULE_ADDRESS FILE..."""
import json
import re
import subprocess
import sys

try:
    import hcl2
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "python-hcl2"], check=True)
    import hcl2

# The module's variable "access_entries" (variables.tf, v20 and v21).
ENTRY = {"principal_arn", "type", "user_name", "kubernetes_groups", "tags", "policy_associations"}
ASSOCIATION = {"policy_arn", "access_scope"}
SCOPE = {"type", "namespaces"}
BLOCKS = {"locals", "import", "moved"}
LOCAL = "migrate_auth_access_entries"


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def text(v):
    """An HCL string literal as python-hcl2 keeps it (quoted), decoded."""
    if not (isinstance(v, str) and v.startswith('"') and v.endswith('"')):
        fail(f"not a string literal: {v!r}")
    return json.loads(v).replace("$${", "${").replace("%%{", "%{")


def fields(block, allowed, what):
    keys = {k for k in block if not k.startswith("__")}
    if not keys <= allowed:
        fail(f"{what} has keys the module does not: {sorted(keys - allowed)}")
    return block


def address(v):
    m = re.fullmatch(r"\$\{(.*)\}", v)
    if not m:
        fail(f"not an address: {v!r}")
    return m.group(1)


def entries(doc, module):
    blocks = {k for k in doc if not k.startswith("__")}
    if not blocks <= BLOCKS:
        fail(f"unexpected blocks: {sorted(blocks - BLOCKS)}")
    [local] = doc["locals"]
    found, targets, flat = [], {}, {}
    for key, body in local[LOCAL].items():
        fields(body, ENTRY, "an entry")
        policies = []
        at = f'{module}.aws_eks_access_entry.this["{key}"]'
        targets[at] = key
        flat[at] = f"aws_eks_access_entry.{key}"
        for pol, p in body.get("policy_associations", {}).items():
            fields(p, ASSOCIATION, "a policy association")
            scope = fields(p["access_scope"], SCOPE, "access_scope")
            policies.append({
                "policyArn": text(p["policy_arn"]),
                "accessScope": {
                    "type": text(scope["type"]),
                    "namespaces": [text(n) for n in scope.get("namespaces", [])],
                },
            })
            at = f'{module}.aws_eks_access_policy_association.this["{key}_{pol}"]'
            if at in targets:
                fail(f"two associations at {at}")
            targets[at] = key
            flat[at] = f"aws_eks_access_policy_association.{key}_{pol}"
        found.append({
            "principalArn": text(body["principal_arn"]),
            "type": text(body["type"]),
            "username": text(body["user_name"]) if "user_name" in body else None,
            "kubernetesGroups": [text(g) for g in body.get("kubernetes_groups", [])],
            "accessPolicies": policies,
        })
    imports, moved = [], []
    for i in doc.get("import", []):
        fields(i, {"to", "id"}, "an import")
        to = address(i["to"])
        if to not in targets:
            fail(f"an import names no entry or association of the map: {to}")
        imports.append(to)
    for m in doc.get("moved", []):
        fields(m, {"from", "to"}, "a moved block")
        to, frm = address(m["to"]), address(m["from"])
        if flat.get(to) != frm:
            fail(f"a moved block from {frm} to {to}: not the same entry or association")
        moved.append(frm)
    if sorted(moved) != sorted(flat.values()):
        fail("not every entry and association has its moved block")
    return found, imports, moved


out = {}
module = sys.argv[1]
for path in sys.argv[2:]:
    with open(path) as f:
        es, imports, moved = entries(hcl2.load(f), module)
    out[path] = {"entries": es, "imports": imports, "moved": moved}
print(json.dumps(out))
