#!/usr/bin/env bash
# The docs list what the code has, checked against the code at test time:
#  (a) config keys: the parser's own list (from the message sesame-admin
#      prints for an unknown key) = the keys of conf/sesame.conf (each
#      commented out, once) = the keys of sesame.conf(5); the defaults in
#      conf/sesame.conf, in each key's entry of sesame.conf(5) and in its
#      "defaults, written out" example agree; conf/sesame.conf with every
#      line uncommented is accepted by the parser;
#  (b) commands: the commands of `sesame-admin help` and `sesame --help` =
#      the COMMANDS of sesame-admin(8) and sesame(1), each in the SYNOPSIS
#      too; every --option the help names is in the man page; the exit codes
#      the help names = the man page's EXIT STATUS (less those it marks "not
#      used"), all of them codes of tools/common/exit_codes.h;
#  (c) build packages: the apt-get line of docs/install.md = `scripts/install-deps
#      --list build`;
#  (d) README.md's Layout: every folder it names exists, and every top-level
#      folder and every folder under core/ is named;
#  (e) every repository path the docs name exists, and every test that
#      docs/security.md cites is in the file it cites;
#  and, where groff is installed, every man page renders without a warning.
#
# Why: the docs drifted once (MFA called "not in this version" after it
# shipped, build packages missing); lists that can be compared are compared.
# The help output is read at run time, never from a copy, so a command added
# to a tool's table without its man page fails here. Changes nothing outside
# its own temp dir.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

src=${SESAME_SOURCE_DIR:?SESAME_SOURCE_DIR is not set (run through ctest)}
[ -n "${SESAME_TOOL:-}" ] || fail "SESAME_TOOL is not set (run through ctest)"
man_dir="$src/docs/man"
tmp=$(mktemp -d /tmp/sesame-docs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

errors=()
err() { errors+=("$*"); }

# same_set WHAT NAME_A A NAME_B B: A and B (one item a line) hold the same
# items; each difference is an error naming where it is missing.
same_set() {
  local what=$1 name_a=$2 a=$3 name_b=$4 b=$5 item
  while read -r item; do
    [ -n "$item" ] && err "$what '$item' is in $name_a but not in $name_b"
  done < <(comm -23 <(sort -u <<<"$a") <(sort -u <<<"$b"))
  while read -r item; do
    [ -n "$item" ] && err "$what '$item' is in $name_b but not in $name_a"
  done < <(comm -13 <(sort -u <<<"$a") <(sort -u <<<"$b"))
}

# man_query PAGE QUERY: reads a man page's groff source (python below).
#   keys      KEYS section: "key<TAB>default" per entry (default "" if none)
#   defaults  the "defaults, written out" example: "key<TAB>value"
#   commands  COMMANDS section: the command words of each top-level entry
#   synopsis  SYNOPSIS as plain text
#   exit      EXIT STATUS: "code<TAB>1 if it says 'not used', else 0"
#   text      the whole page as plain text
man_query() {
  python3 - "$1" "$2" <<'PY'
import re, shlex, sys

path, query = sys.argv[1], sys.argv[2]
lines = open(path, encoding="utf-8").read().split("\n")

def plain(s):
    s = re.sub(r"\\f[BIRP]|\\f\(..|\\c$", "", s)
    s = s.replace("\\-", "-").replace("\\(aq", "'").replace("\\(dq", '"')
    s = re.sub(r"\\\(..", "", s)
    return s.replace("\\e", "\\").replace("\\&", "")

def macro_text(line):
    # ".BR a " b" c" -> "a b c" joined as groff would (alternating macros
    # join without spaces, the others with).
    if not line.startswith("."):
        return plain(line)
    parts = line.split(None, 1)
    name = parts[0]
    rest = parts[1] if len(parts) > 1 else ""
    if name in (".B", ".I", ".SM"):
        return plain(rest.strip('"') if rest.count('"') == 2 and rest.startswith('"') else rest)
    if name in (".BR", ".RB", ".BI", ".IB", ".IR", ".RI"):
        try:
            words = shlex.split(rest.replace("\\", "\\\\"), posix=True)
        except ValueError:
            words = rest.split()
        return plain("".join(w.replace("\\\\", "\\") for w in words))
    return ""

def section(title):
    out, inside = [], False
    for line in lines:
        if line.startswith(".SH"):
            head = line[3:].strip().strip('"')
            if inside:
                break
            inside = head == title
            continue
        if inside:
            out.append(line)
    return out

def top_level_tags(body, stop_at_ss=False):
    # The tag line after each .TP that is not inside .RS/.RE.
    depth, tags = 0, []
    for i, line in enumerate(body):
        if stop_at_ss and line.startswith(".SS"):
            break
        if line.startswith(".RS"):
            depth += 1
        elif line.startswith(".RE"):
            depth -= 1
        elif line.startswith(".TP") and depth == 0 and i + 1 < len(body):
            tags.append(macro_text(body[i + 1]))
    return tags

if query == "keys":
    for tag in top_level_tags(section("KEYS")):
        key = tag.split()[0] if tag.split() else ""
        m = re.search(r"\(default ((?:[^,)\s]|,(?=\S))+)", tag)  # "a,b" is one value
        print(key + "\t" + (m.group(1) if m else ""))
elif query == "defaults":
    start = next(i for i, l in enumerate(lines) if "defaults, written out" in l)
    nf = next(i for i in range(start, len(lines)) if lines[i].startswith(".nf"))
    for line in lines[nf + 1:]:
        if line.startswith(".fi"):
            break
        m = re.match(r"^([a-z0-9_]+) = (.*)$", plain(line))
        if m:
            print(m.group(1) + "\t" + m.group(2))
elif query == "commands":
    for tag in top_level_tags(section("COMMANDS"), stop_at_ss=True):
        words = []
        for w in tag.split():
            if not re.fullmatch(r"[a-z][a-z-]*", w):
                break
            words.append(w)
        if words:
            print(" ".join(words))
elif query == "synopsis":
    print(" ".join(macro_text(l) for l in section("SYNOPSIS")))
elif query == "exit":
    body = section("EXIT STATUS")
    for i, line in enumerate(body):
        if line.startswith(".TP") and i + 1 < len(body):
            code = macro_text(body[i + 1]).strip()
            text = []
            for l in body[i + 2:]:
                if l.startswith(".TP") or l.startswith(".SH"):
                    break
                text.append(macro_text(l))
            print(code + "\t" + ("1" if "not used" in " ".join(text) else "0"))
elif query == "text":
    print("\n".join(macro_text(l) for l in lines if not l.startswith('.\\"')))
PY
}

# ---- (a) config keys ----
printf 'docs_check_no_such_key = 1\n' >"$tmp/unknown.conf"
chmod 0644 "$tmp/unknown.conf"
if out=$("$SESAME_ADMIN" --config "$tmp/unknown.conf" user list 2>&1); then
  fail "sesame-admin accepted a config with an unknown key: $out"
fi
parser_keys=$(sed -n 's/.*accepted keys: \([^)]*\)).*/\1/p' <<<"$out" | tr ',' '\n' | tr -d ' ')
[ "$(wc -l <<<"$parser_keys")" -ge 10 ] ||
  fail "cannot read the parser's key list from sesame-admin's message: $out"

sample="$src/conf/sesame.conf"
while IFS= read -r line; do
  err "conf/sesame.conf sets '$line': the sample lists every key commented out"
done < <(grep -E '^[[:space:]]*[A-Za-z_]+[[:space:]]*=' "$sample" || true)
sample_pairs=$(sed -n -E 's/^# ?([a-z][a-z0-9_]*) = (.*)$/\1\t\2/p' "$sample")
sample_keys=$(cut -f1 <<<"$sample_pairs")
while read -r dup; do
  [ -n "$dup" ] && err "conf/sesame.conf lists '$dup' more than once"
done < <(sort <<<"$sample_keys" | uniq -d)
same_set "config key" "the parser (core/config/config.cc)" "$parser_keys" "conf/sesame.conf" "$sample_keys"

man_keys=$(man_query "$man_dir/sesame.conf.5" keys)
same_set "config key" "the parser (core/config/config.cc)" "$parser_keys" "sesame.conf(5) KEYS" "$(cut -f1 <<<"$man_keys")"

man_defaults=$(man_query "$man_dir/sesame.conf.5" defaults)
while IFS=$'\t' read -r key man_default; do
  [ -n "$key" ] || continue
  sample_value=$(awk -F'\t' -v k="$key" '$1 == k { print $2 }' <<<"$sample_pairs")
  example_value=$(awk -F'\t' -v k="$key" '$1 == k { print $2 }' <<<"$man_defaults")
  if [ -z "$man_default" ]; then
    [ -z "$example_value" ] ||
      err "sesame.conf(5) gives $key no default, but its defaults example sets '$example_value'"
    continue
  fi
  [ "$sample_value" = "$man_default" ] ||
    err "default of $key: sesame.conf(5) says '$man_default', conf/sesame.conf '$sample_value'"
  [ "$example_value" = "$man_default" ] ||
    err "default of $key: sesame.conf(5) says '$man_default', its defaults example '${example_value:-(missing)}'"
done <<<"$man_keys"

# The sample's values are accepted by the parser: every line uncommented,
# with the store, key and runtime dir moved into the temp dir, then init.
mkdir -m 0700 "$tmp/state"
sed -n -E 's/^# ?([a-z][a-z0-9_]*) = (.*)$/\1 = \2/p' "$sample" |
  sed -E "s#^store_path = .*#store_path = $tmp/state/sesame.db#;
          s#^key_file = .*#key_file = $tmp/state/sesame.key#;
          s#^runtime_dir = .*#runtime_dir = $tmp/state/run#" >"$tmp/all.conf"
chmod 0644 "$tmp/all.conf"
out=$("$SESAME_ADMIN" --config "$tmp/all.conf" init 2>&1) ||
  err "conf/sesame.conf with every key uncommented is refused: $out"

# ---- (b) commands, options and exit codes of the tools ----
# help_commands: the command words of each "  command ARGS  summary" line of
# a help text's Commands: section.
help_commands() {
  awk '
    /^[A-Za-z].*:$/ { in_commands = ($0 ~ /^Commands:/); next }
    in_commands && /^  [a-z]/ {
      line = substr($0, 3)
      sub(/  .*/, "", line)  # the summary, after two or more spaces
      n = split(line, w, " "); out = ""
      for (i = 1; i <= n && w[i] ~ /^[a-z][a-z-]*$/; i++) out = out (out == "" ? "" : " ") w[i]
      if (out != "") print out
    }'
}
help_exit_codes() {
  tr '\n' ' ' | sed -n 's/.*Exit codes: //p' | grep -oE '(^|, )[0-9]+ ' | tr -dc '0-9\n'
}
header_codes=$(sed -n -E 's/^ *kExit[A-Za-z]+ = ([0-9]+),.*/\1/p' "$src/tools/common/exit_codes.h")
[ -n "$header_codes" ] || fail "cannot read the exit codes of tools/common/exit_codes.h"

check_tool() {
  local label=$1 page=$2 help=$3 cmds man_cmds synopsis text opt code
  cmds=$(help_commands <<<"$help")
  [ "$(wc -l <<<"$cmds")" -ge 3 ] || { err "$label: no command list in its help output"; return; }
  man_cmds=$(man_query "$man_dir/$page" commands)
  same_set "command" "'$label'" "$cmds" "${page} COMMANDS" "$man_cmds"
  synopsis=" $(man_query "$man_dir/$page" synopsis | tr -s '|{}[]' ' ') "
  while read -r cmd; do
    for word in ${cmd%% *} ${cmd##* }; do
      [[ $synopsis == *" $word "* ]] || err "command '$cmd' of '$label': '$word' is not in the SYNOPSIS of $page"
    done
  done <<<"$cmds"
  text=$(man_query "$man_dir/$page" text)
  while read -r opt; do
    [ -n "$opt" ] || continue
    grep -qF -- "$opt" <<<"$text" || err "option $opt of '$label' is not in $page"
  done < <(grep -oE -- '--[a-z][a-z-]+' <<<"$help" | sort -u)
  local help_codes man_exit man_codes
  help_codes=$(help_exit_codes <<<"$help")
  [ -n "$help_codes" ] || err "$label: no 'Exit codes:' in its help output"
  man_exit=$(man_query "$man_dir/$page" exit)
  man_codes=$(awk -F'\t' '$2 == 0 { print $1 }' <<<"$man_exit")
  same_set "exit code" "'$label'" "$help_codes" "$page EXIT STATUS" "$man_codes"
  while read -r code; do
    [ -n "$code" ] || continue
    grep -qx "$code" <<<"$header_codes" || err "$page documents exit code $code, which tools/common/exit_codes.h does not have"
  done < <(cut -f1 <<<"$man_exit")
}

admin_help=$("$SESAME_ADMIN" help) || fail "'sesame-admin help' failed"
check_tool "sesame-admin help" sesame-admin.8 "$admin_help"
tool_help=$("$SESAME_TOOL" --help) || fail "'sesame --help' failed"
check_tool "sesame --help" sesame.1 "$tool_help"

# ---- (c) build packages ----
install_md="$src/docs/install.md"
doc_pkgs=$(awk '
  /^## / { in_deps = ($0 ~ /Build dependencies/) }
  in_deps && /^apt-get install/ { taking = 1 }
  taking {
    line = $0; more = sub(/\\$/, "", line)
    print line
    if (!more) exit
  }' "$install_md" | tr ' ' '\n' | grep -vE '^(apt-get|install|-.*|)$' || true)
[ -n "$doc_pkgs" ] || err "docs/install.md: no 'apt-get install' line under 'Build dependencies'"
deps_pkgs=$("$src/scripts/install-deps" --list build) || fail "scripts/install-deps --list build failed"
same_set "build package" "docs/install.md" "$doc_pkgs" "'scripts/install-deps --list build'" "$deps_pkgs"

# ---- (d) README.md's Layout ----
layout=$(awk '
  /^## / { in_layout = ($0 == "## Layout") }
  in_layout && /^```/ { if (inside) exit; inside = 1; next }
  inside { print }' "$src/README.md")
[ -n "$layout" ] || err "README.md: no code block under '## Layout'"
# Folders named in the tree, as paths: an entry ending in '/' nested under
# the last entry with less indentation.
named=$(awk '
  {
    match($0, /^ */); indent = RLENGTH
    name = substr($0, indent + 1); sub(/ .*/, "", name)
    if (name !~ /\/$/) next
    while (depth > 0 && indents[depth] >= indent) depth--
    depth++; indents[depth] = indent; names[depth] = name
    path = ""; for (i = 1; i <= depth; i++) path = path names[i]
    sub(/\/$/, "", path); print path
  }' <<<"$layout")
while read -r dir; do
  [ -n "$dir" ] || continue
  [ -d "$src/$dir" ] || err "README.md Layout names $dir/, which does not exist"
done <<<"$named"
actual=$(cd "$src" && {
  find . -mindepth 1 -maxdepth 1 -type d ! -name '.*' ! -name 'build*'
  find core -mindepth 1 -type d
} | sed 's#^\./##')
while read -r dir; do
  [ -n "$dir" ] || continue
  grep -qx "$dir" <<<"$named" || err "README.md Layout does not name $dir/"
done <<<"$actual"

# ---- (e) references ----
# Every repository path the docs name exists, and every test that
# docs/security.md names as the proof of a claim is in the test file it
# cites (the nearest file named before it in the same bullet).
reference_problems() {
  cd "$src" && python3 - <<'PY'
import glob, os, re

docs = (["README.md"] + sorted(glob.glob("docs/*.md")) + sorted(glob.glob("docs/man/*"))
        + ["conf/sesame.conf"] + sorted(glob.glob("conf/pam.d/*")))
path = re.compile(r"(?<![\w/.\-])((?:core|pam_module|tools|tests|scripts|conf|docs|bench)/"
                  r"[\w./{},*\-]*[\w}*/])")
for doc in docs:
    for m in path.finditer(open(doc, encoding="utf-8").read()):
        named = m.group(1).replace("\\-", "-")
        brace = re.search(r"\{([^}]*)\}", named)
        for p in ([named[:brace.start()] + x + named[brace.end():] for x in brace.group(1).split(",")]
                  if brace else [named]):
            if not (glob.glob(p) if "*" in p else os.path.exists(p)):
                print(f"{doc} names {p}, which does not exist")

test_files = [t for t in glob.glob("tests/**/*", recursive=True) if os.path.isfile(t)]
current = None
for line in open("docs/security.md", encoding="utf-8").read().split("\n"):
    if re.match(r"\s*- ", line) or line.startswith("#"):
        current = None
    for token in re.findall(r"`([^`]+)`", line):
        if re.fullmatch(r"[\w/]*\w+_test\.cc|[\w/]*\w+\.sh", token):
            found = [t for t in test_files if t == token or t.endswith("/" + token)]
            current = found[0] if len(found) == 1 else None
        elif re.fullmatch(r"[A-Z][a-z]+(?:[A-Z][a-z0-9]*){2,}", token):
            if current is None:
                print(f"docs/security.md names test {token} without a test file before it")
            elif token not in open(current, encoding="utf-8").read():
                print(f"docs/security.md names test {token}, which is not in {current}")
PY
}
while IFS= read -r problem; do
  [ -n "$problem" ] && err "$problem"
done < <(reference_problems || echo "the reference check (python3) failed")

# ---- the man pages render cleanly ----
if command -v groff >/dev/null; then
  for page in "$man_dir"/*.[0-9]; do
    warnings=$(groff -ww -man -z "$page" 2>&1)
    [ -z "$warnings" ] || err "$(basename "$page") has groff warnings: $warnings"
  done
else
  echo "$it_name: note: groff is not installed; the man pages' rendering is not checked"
fi

if [ ${#errors[@]} -gt 0 ]; then
  for e in "${errors[@]}"; do echo "$it_name: FAIL: $e" >&2; done
  exit 1
fi
pass "$(wc -l <<<"$parser_keys") config keys, $(help_commands <<<"$admin_help" | wc -l) + $(help_commands <<<"$tool_help" | wc -l) commands, $(wc -l <<<"$deps_pkgs") build packages and $(wc -l <<<"$named") Layout folders agree with the docs"
