#!/usr/bin/env bash
# Every program, library and Python module the tests, the demo and the
# benchmarks use (tests/required-programs, the one list) is installed here,
# and the Debian package it comes from is one that `scripts/install-deps SET`
# installs on a machine with only Debian 12's base: a package the set names,
# one those packages Depend on (apt brings Depends; not Recommends, since
# install-deps uses --no-install-recommends), or one of the base system
# (Essential or Priority required, and what they depend on).
#
# Why: CI once passed only because the machine had librsvg2-bin from
# earlier; on a fresh one ImageMagick could not read SVG (its delegate
# rsvg-convert is a Recommends) and QrTest.SvgDecodesToTheText failed.
#
# A missing bench entry is a note, not a failure (the bench set is optional).
# Reads the dpkg database only; changes nothing.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

src=${SESAME_SOURCE_DIR:?SESAME_SOURCE_DIR is not set (run through ctest)}
list="$src/tests/required-programs"
install_deps="$src/scripts/install-deps"
[ -r "$list" ] || fail "cannot read $list"
command -v dpkg-query >/dev/null || fail "dpkg-query is missing: this check is for Debian"
syspath=/usr/sbin:/usr/bin:/sbin:/bin

# ---- the dpkg database, read once ----
# One line per installed package: name, Essential, Priority, Pre-Depends and
# Depends, Provides.
db=$(dpkg-query -W -f='${Status}\t${Package}\t${Essential}\t${Priority}\t${Pre-Depends}, ${Depends}\t${Provides}\n' |
  awk -F'\t' '$1 == "install ok installed" { print $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 }')
[ -n "$db" ] || fail "dpkg-query listed no installed package"

# closure PKG...: PKG... and every installed package they depend on, one a
# line. Of an "a | b" group only the first is followed (what apt picks on a
# fresh machine); a virtual name goes to an installed provider. With no
# argument: the base system (Essential or Priority required) and its
# dependencies.
closure() {
  awk -F'\t' -v start="$*" '
    function clean(d) { sub(/\|.*/, "", d); sub(/\(.*/, "", d); gsub(/[ \t]/, "", d); sub(/:.*/, "", d); return d }
    {
      pkg = $1; installed[pkg] = 1; deps[pkg] = $4
      if ($2 == "yes" || $3 == "required") base[pkg] = 1
      n = split($5, provs, ",")
      for (i = 1; i <= n; i++) { v = clean(provs[i]); if (v != "" && !(v in provider)) provider[v] = pkg }
    }
    END {
      top = 0
      if (start == "") { for (p in base) todo[++top] = p }
      else { n = split(start, names, " "); for (i = 1; i <= n; i++) todo[++top] = names[i] }
      while (top > 0) {
        p = todo[top--]
        if (!(p in installed) && (p in provider)) p = provider[p]
        if (p in seen) continue
        seen[p] = 1
        print p
        n = split(deps[p], groups, ",")
        for (i = 1; i <= n; i++) { d = clean(groups[i]); if (d != "" && !(d in seen)) todo[++top] = d }
      }
    }' <<<"$db"
}

declare -A base_all=()
while read -r p; do base_all[$p]=1; done < <(closure)

# ---- what install-deps installs, per set ----
# named["SET PKG"]: install-deps SET names PKG; brought["SET PKG"]: it
# installs PKG (named, or a dependency).
declare -A named=() brought=()
for set in build demo test bench; do
  pkgs=$("$install_deps" --list "$set") || fail "scripts/install-deps --list $set failed"
  [ -n "$pkgs" ] || fail "scripts/install-deps --list $set printed nothing"
  for p in $pkgs; do named["$set $p"]=1; done
  # shellcheck disable=SC2086  # one package name per word
  while read -r p; do brought["$set $p"]=1; done < <(closure $pkgs)
done

# ---- the entries ----
# locate NAME: the file behind an entry of tests/required-programs (empty
# when there is none).
locate() {
  local name=$1 f
  case "$name" in
    py:*)
      /usr/bin/python3 -c 'import importlib.util, sys
spec = importlib.util.find_spec(sys.argv[1])
print(spec.origin if spec and spec.origin else "")' "${name#py:}" 2>/dev/null || true
      ;;
    /*)
      for f in $name; do
        if [ -e "$f" ]; then
          echo "$f"
          break
        fi
      done
      ;;
    *) PATH=$syspath type -P "$name" || true ;;  # the file, even for a builtin's name
  esac
}

# candidates PATH: the names dpkg may know PATH by: as given, with the /usr
# merge undone or applied (bookworm's packages still ship /bin/cat), then
# the symlink resolved (alternatives: /usr/bin/convert ->
# /etc/alternatives/convert -> /usr/bin/convert-im6.q16).
candidates() {
  local path=$1 real c
  real=$(readlink -f "$path")
  for c in "$path" "${path#/usr}" "/usr$path" "$real" "${real#/usr}" "/usr$real"; do
    if [ "${c:0:1}" = / ]; then echo "$c"; fi
  done
}

errors=()
notes=()
sets=()
names=()
paths=()
cands=()  # per entry: its candidate names, one a line
all_candidates=()
while read -r set name _; do
  case "$set" in '' | '#'*) continue ;; esac
  case "$set" in build | demo | test | bench) ;; *)
    errors+=("tests/required-programs: unknown set '$set' for $name")
    continue
    ;;
  esac
  path=$(locate "$name")
  if [ -z "$path" ]; then
    if [ "$set" = bench ]; then
      notes+=("$name is not installed (scripts/install-deps bench brings it; only the benchmarks need it)")
    else
      errors+=("$name is not installed (needed by the $set set)")
    fi
    continue
  fi
  sets+=("$set")
  names+=("$name")
  paths+=("$path")
  c=$(candidates "$path")
  cands+=("$c")
  mapfile -t -O ${#all_candidates[@]} all_candidates <<<"$c"
done <"$list"

# One dpkg-query -S for every name (it reads all file lists each time).
# Lines: "pkg1, pkg2:amd64: /path"; diversions are left out.
declare -A owner_by_path=()
while IFS= read -r line; do
  case "$line" in 'diversion by'*) continue ;; esac
  file=${line##*: }
  pkg=${line%: "$file"}
  pkg=${pkg%%,*}
  [ -z "${owner_by_path[$file]:-}" ] && owner_by_path[$file]=${pkg%%:*}
done < <(dpkg-query -S "${all_candidates[@]}" 2>/dev/null || true)

checked=0
for i in "${!names[@]}"; do
  set=${sets[$i]} name=${names[$i]} path=${paths[$i]} owner=""
  while read -r c; do
    owner=${owner_by_path[$c]:-}
    [ -n "$owner" ] && break
  done <<<"${cands[$i]}"
  if [ -z "$owner" ]; then
    errors+=("$name ($path) belongs to no Debian package: install-deps cannot bring it")
    continue
  fi
  if [ -n "${named["$set $owner"]:-}" ]; then
    how="named by install-deps $set"
  elif [ -n "${brought["$set $owner"]:-}" ]; then
    how="a dependency of what install-deps $set names"
  elif [ -n "${base_all[$owner]:-}" ]; then
    how="Debian base system"
  else
    how=""
    errors+=("$name ($path) comes from package $owner, which 'scripts/install-deps $set' does not install (add it to ${set}_pkgs, or to a set that $set includes)")
  fi
  [ -n "$how" ] || continue
  checked=$((checked + 1))
  echo "  $set: $name -> $path ($owner: $how)"
done

for n in "${notes[@]}"; do echo "$it_name: note: $n"; done
if [ ${#errors[@]} -gt 0 ]; then
  for e in "${errors[@]}"; do echo "$it_name: FAIL: $e" >&2; done
  exit 1
fi
[ "$checked" -gt 20 ] || fail "only $checked entries checked: is $list complete?"
pass "$checked programs, libraries and modules are installed and come from packages install-deps installs"
