#!/usr/bin/env bash
# The folders of core/ are layers (README "Layout", core/CMakeLists.txt):
# each may include only its own headers and those of the layers below it,
# so the dependency graph has no cycle and the PAM module links only what
# it uses. This reads every #include "core/..." in core/ and fails on one
# that goes up or sideways, naming the file and the line.
#
#   base <- crypto <- config <- store <- store/sqlite   <- store/open
#                                   store <- store/postgres <-+
#   base <- qr
#   policy -> config, store, crypto, base
#   flows  -> policy, store, crypto, config, qr, base
#
# Reads the sources only; changes nothing.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

src=${SESAME_SOURCE_DIR:?SESAME_SOURCE_DIR is not set (run through ctest)}
cd "$src/core"

# A folder and the folders it may include (itself included).
declare -A allowed=(
  [base]="base"
  [crypto]="crypto base"
  [config]="config base"
  [store]="store crypto base"
  [store/sqlite]="store/sqlite store crypto base"
  [store/postgres]="store/postgres store crypto base"
  [store/open]="store/open store/sqlite store/postgres store config crypto base"
  [qr]="qr base"
  [policy]="policy config store crypto base"
  [flows]="flows policy store config crypto qr base"
)

bad=0
seen=0
while IFS= read -r file; do
  folder=$(dirname "$file")
  folder=${folder#./}
  file=${file#./}
  if [ -z "${allowed[$folder]+x}" ]; then
    echo "$it_name: core/$file is in a folder the layering does not know ($folder): add it here and to core/CMakeLists.txt" >&2
    bad=1
    continue
  fi
  while IFS=: read -r line target; do
    seen=$((seen + 1))
    # core/store/sqlite/sqlite_store.h -> store/sqlite
    to=$(dirname "${target#core/}")
    ok=0
    for a in ${allowed[$folder]}; do
      [ "$to" = "$a" ] && ok=1
    done
    if [ $ok = 0 ]; then
      echo "$it_name: core/$file:$line includes $target: core/$folder may include only ${allowed[$folder]}" >&2
      bad=1
    fi
  done < <(grep -n -o '^#include "core/[^"]*"' "$file" | sed 's/#include "\(.*\)"/\1/')
done < <(find . -name '*.h' -o -name '*.cc' | sort)

[ "$seen" -gt 100 ] || fail "read only $seen includes: is $src/core the tree?"
[ "$bad" = 0 ] || fail "core's layering is broken (see above)"
pass "$seen includes in core/ follow the layering, no cycle"
