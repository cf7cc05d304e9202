#!/usr/bin/env bash
# Fails on banned calls (docs/internals/style.md §10): unbounded string functions and unchecked
# conversions anywhere in src/ and cli/, and memcmp in the modules that handle secrets
# (use att_ct_equal), and formatting (.clang-format). Run by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok|strncpy|strncat|alloca)\s*\('
if grep -rnE "$banned" src cli --include='*.c' --include='*.h'; then
  echo "lint: banned call (use snprintf, att_buf or the bounded reader)"; status=1
fi
if grep -rnE '\bmemcmp\s*\(' src/seal src/signer src/token --include='*.c'; then
  echo "lint: memcmp in a module that handles secrets (use att_ct_equal)"; status=1
fi
if grep -rnE '\bsystem\s*\(|\bpopen\s*\(' src cli --include='*.c'; then
  echo "lint: no shelling out from the service"; status=1
fi
if command -v clang-format >/dev/null 2>&1; then
  if ! clang-format --dry-run --Werror $(git ls-files '*.c' '*.h') 2>/dev/null; then
    echo "lint: formatting differs from .clang-format (run 'make format')"; status=1
  fi
fi
exit $status
