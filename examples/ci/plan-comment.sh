#!/bin/sh
# Review an aws-auth change in a merge request, on any CI: plan one cluster
# folder offline and write the Markdown plan as a comment body.
#
#   examples/ci/plan-comment.sh CLUSTER_DIR [MORE PLAN FLAGS...]
#
# CLUSTER_DIR holds what `migrate-auth plan` reads, checked in:
#   aws-auth.yaml   required (kubectl get cm aws-auth -n kube-system -o yaml)
#   current.json    optional, from `migrate-auth snapshot` (--current-file)
#   rbac.yaml       optional, the cluster's RBAC objects (--rbac-file)
#   iam-roles.json  optional, `aws iam list-roles` (--iam-file)
#   overrides.yaml  optional, decisions that settle `error` findings (--overrides)
# Rename them below to fit your layout; MORE PLAN FLAGS (e.g. --account
# 111122223333) go to the plan as they are.
#
# Environment:
#   MIGRATE_AUTH  the binary (default: migrate-auth on the PATH)
#   COMMENT_FILE  where the comment body goes (default: plan-comment.md)
#
# The body starts with the hidden marker below, so that a CI job can find
# its earlier comment and update it rather than add another one. The plan
# keeps its Markdown under 60,000 characters (GitHub refuses more than
# 65,536; GitLab's notes take 1,000,000).
#
# Exit status: 0 when the plan has no changes or only changes (the plan's
# 0 and 2), 1 when it has an `error` finding or could not be made. The
# comment body is written either way: post it first, then fail the job.
set -u

marker='<!-- migrate-auth-plan -->'
dir=${1:?usage: plan-comment.sh CLUSTER_DIR [MORE PLAN FLAGS...]}
shift
bin=${MIGRATE_AUTH:-migrate-auth}
out=${COMMENT_FILE:-plan-comment.md}

# The plan's inputs: aws-auth.yaml first, then what the folder has, then
# the caller's flags.
set -- --aws-auth-file "$dir/aws-auth.yaml" "$@"
if [ -f "$dir/current.json" ]; then set -- "$@" --current-file "$dir/current.json"; fi
if [ -f "$dir/rbac.yaml" ]; then set -- "$@" --rbac-file "$dir/rbac.yaml"; fi
if [ -f "$dir/iam-roles.json" ]; then set -- "$@" --iam-file "$dir/iam-roles.json"; fi
if [ -f "$dir/overrides.yaml" ]; then set -- "$@" --overrides "$dir/overrides.yaml"; fi

plan=$(mktemp) && err=$(mktemp) || exit 1
trap 'rm -f "$plan" "$err"' EXIT

# 0: no changes; 2: changes; 1: an error finding (the plan is still
# printed) or no plan at all (only stderr says why).
status=0
"$bin" plan "$@" --output markdown --detailed-exitcode --fail-on error \
  >"$plan" 2>"$err" || status=$?
cat "$err" >&2

{
  printf '%s\n' "$marker"
  if [ -s "$plan" ]; then
    cat "$plan"
  else
    # shellcheck disable=SC2016 # the backquotes are Markdown's
    printf '### migrate-auth plan for `%s` failed (exit %s)\n\n```\n' "$dir" "$status"
    head -c 4000 "$err"
    printf '\n```\n'
  fi
} >"$out"

case $status in
  0) verdict='no changes' ;;
  2) verdict='changes' ;;
  1) verdict='error findings, or no plan' ;;
  *) verdict="unexpected exit $status" ;;
esac
echo "migrate-auth plan for $dir: $verdict; comment body in $out"

# Posting is CI-specific. GitLab, in a merge-request pipeline, with a
# project access token (scope api) in GITLAB_TOKEN: update the note that
# carries the marker, or add one (needs jq).
#
#   api="$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"
#   note=$(curl --fail --silent --header "PRIVATE-TOKEN: $GITLAB_TOKEN" "$api?per_page=100" |
#     jq -r --arg m "$marker" 'map(select(.body | startswith($m))) | first | .id // empty')
#   if [ -n "$note" ]; then
#     curl --fail --silent --request PUT --header "PRIVATE-TOKEN: $GITLAB_TOKEN" \
#       --data-urlencode "body@$out" "$api/$note" >/dev/null
#   else
#     curl --fail --silent --request POST --header "PRIVATE-TOKEN: $GITLAB_TOKEN" \
#       --data-urlencode "body@$out" "$api" >/dev/null
#   fi

case $status in
  0 | 2) exit 0 ;;
  *) exit 1 ;;
esac
