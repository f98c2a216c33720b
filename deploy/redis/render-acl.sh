#!/usr/bin/env bash
# Renders deploy/redis/users.acl.template into a Redis ACL file (redis-server --aclfile).
#
#   deploy/redis/render-acl.sh [ENV_FILE] > users.acl
#
# Passwords come from CS_REDIS_PASSWORD_GATEWAY, _DISPATCHER, _NOTIFIER, _WEBHOOKS, _ARCHIVER and _ADMIN: from the
# environment, else from ENV_FILE (KEY=VALUE lines, e.g. deploy/.env). Only their SHA-256 goes
# into the output (`#<hex>`), never the clear text. Passwords must be 16-128 characters of
# [A-Za-z0-9._~-] so that they can be used in redis:// URLs as they are. Example values (with
# change-me, as in deploy/.env.example) are rendered with a warning: the processes refuse them.
# CS_ACL_TEMPLATE overrides the template path.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPLATE="${CS_ACL_TEMPLATE:-$HERE/users.acl.template}"
ENV_FILE="${1:-}"

value_of() { # variable name -> value (environment first, then the env file)
    local name="$1" value="${!1:-}"
    if [ -z "$value" ] && [ -n "$ENV_FILE" ]; then
        value="$(sed -n "s/^[[:space:]]*${name}=//p" "$ENV_FILE" | tail -n 1)"
        value="${value%$'\r'}"
        value="${value#\"}" && value="${value%\"}"
    fi
    printf '%s' "$value"
}

if [ -n "$ENV_FILE" ] && [ ! -r "$ENV_FILE" ]; then
    echo "render-acl: cannot read $ENV_FILE" >&2
    exit 1
fi

script=""
for role in gateway dispatcher notifier webhooks archiver admin; do
    var="CS_REDIS_PASSWORD_$(printf '%s' "$role" | tr '[:lower:]' '[:upper:]')"
    password="$(value_of "$var")"
    if ! [[ "$password" =~ ^[A-Za-z0-9._~-]{16,128}$ ]]; then
        echo "render-acl: $var must be 16-128 characters of [A-Za-z0-9._~-]" >&2
        exit 1
    fi
    if [[ "${password,,}" == *change-me* ]]; then
        # Still rendered (deploy/redis/users.acl is the rendering of the examples), but the
        # processes refuse these passwords: a Redis loading this file serves nobody.
        echo "render-acl: warning: $var is an example value (change-me); the processes refuse it" >&2
    fi
    hash="$(printf '%s' "$password" | sha256sum | cut -d' ' -f1)"
    script+="s/<password:${role}>/#${hash}/g;"
done

# Drop comments and blank lines, join indented continuation lines, fill in the hashes.
awk '
    /^[[:space:]]*(#|$)/ { next }
    /^[[:space:]]/ { sub(/^[[:space:]]+/, ""); line = line " " $0; next }
    { if (line != "") print line; line = $0 }
    END { if (line != "") print line }
' "$TEMPLATE" | sed -e "$script"

if grep -q '<password:' < <(awk '!/^[[:space:]]*#/' "$TEMPLATE" | sed -e "$script"); then
    echo "render-acl: the template names a role without a password variable" >&2
    exit 1
fi
