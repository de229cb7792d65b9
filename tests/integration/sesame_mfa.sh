#!/bin/bash
# sesame mfa enroll | remove and sesame recovery-codes new, through the real
# setuid tool run by an ordinary user on a pty (pexpect), with codes from
# oathtool, QR codes decoded by zbarimg and sign-ins through pam_sesame.so
# (pamtester, also on a pty). Checked:
#  - bad FILE arguments (empty, 5000 bytes, a control character), an
#    existing file, a directory the user cannot write: exit 2 before any
#    prompt, nothing enrolled, the existing file untouched;
#  - a directory that turns read-only after the check: the write, done as
#    the user, fails (exit 1) and nothing is stored;
#  - three wrong first codes (exit 6) and Ctrl-C at the code prompt: nothing
#    stored, and the QR code files of the run are removed;
#  - an enrollment with --qr-png and --qr-svg: password, then the QR code
#    (half blocks, and ASCII with TERM=dumb, both decoded), key and URI; a
#    code from the printed key confirms; the PNG (and the SVG, rendered by
#    ImageMagick) decodes to exactly the printed URI, owned by the user, mode
#    0600; pamtester then needs password + code;
#  - recovery-codes new: old codes stop working, a new one signs in;
#  - enrolling again (a new phone) asks for a code of the old key, and the
#    new key (with new recovery codes) replaces it;
#  - mfa remove is refused (exit 5, pointing to 'sesame mfa enroll') while
#    an administrator requires MFA, then works with password + code; status
#    shows the methods, recovery codes left and the requirement.
#
# Codes: totp_window = 10 here, and each code is made with oathtool -N at a
# later offset than the one before (-240 s, -210 s, ...), so every code is
# a new time step without waiting for the clock.
#
# The setuid tool reads only /etc/security/sesame.conf: an existing one is
# moved aside and put back on exit.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/tool_lib.sh
source "$(dirname "$0")/tool_lib.sh"
tool_init oathtool zbarimg
USER_A="sesmfa-a-$$"
printf 'totp_issuer = Sesame IT\ntotp_window = 10\n' >>"$IT_CONF"

tool_install

tool_make_users "$USER_A"
PW_A="alpha-mfa-pass-1"
tool_add_user "$USER_A" "$PW_A"

# The user's own directory (the working directory of every run), a root
# directory the user cannot write, and one that turns read-only mid-run.
HOME_A="$IT_TMP/home-a"
install -d -m 0700 -o "$USER_A" "$HOME_A"
install -d -m 0755 -o root "$IT_TMP/rootdir"
install -d -m 0777 -o root "$IT_TMP/closing"

it_service sesame-check "auth required $SESAME_MODULE" "account required $SESAME_MODULE"

# --- the pty driver: drive.py SCENARIO [ARGS...]; the password comes
# through the environment, results (key, URI, codes) go to $OUT as JSON.
cat >"$IT_TMP/drive.py" <<'PYEOF'
import json, os, subprocess, sys
import pexpect

tool, user, home = os.environ["TOOL"], os.environ["RUN_AS"], os.environ["HOME_A"]
pw = os.environ.get("PW", "")
offset_file = os.environ["OFFSET_FILE"]
scenario, args = sys.argv[1], sys.argv[2:]
term = os.environ.get("DRIVE_TERM", "dumb")
env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TERM": term}
if term != "dumb":
    env["LANG"] = "C.UTF-8"
if os.environ.get("DRIVE_COLORFGBG"):
    env["COLORFGBG"] = os.environ["DRIVE_COLORFGBG"]
transcript = []


def code(key):
    # A code for a later time step than any code made before.
    with open(offset_file) as f:
        offset = int(f.read())
    with open(offset_file, "w") as f:
        f.write(str(offset + 30))
    return subprocess.check_output(
        ["oathtool", "--totp", "-b", key, "-N", "%+d seconds" % offset]).decode().strip()


def far_code(key):
    # Right for this key, an hour from now: outside any window.
    return subprocess.check_output(
        ["oathtool", "--totp", "-b", key, "-N", "+1 hour"]).decode().strip()


def spawn(cmd, extra_env=None):
    e = dict(env)
    e.update(extra_env or {})
    child = pexpect.spawn(cmd[0], cmd[1:], env=e, cwd=home, timeout=60, encoding="utf-8",
                          codec_errors="replace")
    if os.environ.get("IT_TRACE"):
        child.logfile_read = sys.stderr
    return child


def expect(child, patterns):
    try:
        i = child.expect(patterns)
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        transcript.append(child.before or "")
        sys.exit("%s: waited for %r, got %s; output:\n%s"
                 % (scenario, patterns, type(e).__name__, "".join(transcript)))
    transcript.append(child.before + (child.after if isinstance(child.after, str) else ""))
    return i


def finish(child, want):
    expect(child, [pexpect.EOF])
    child.close()
    if want is not None and child.exitstatus != want:
        sys.exit("%s: exit %r (signal %r), want %d; output:\n%s"
                 % (scenario, child.exitstatus, child.signalstatus, want, "".join(transcript)))
    return child


def tool_run(*words):
    return spawn(["runuser", "-u", user, "--", tool] + list(words))


def read_offer(child):
    """The QR code drawing, the key and the URI of an enrollment."""
    expect(child, [r"Aegis, \.\.\.\):\r\n\r\n"])
    expect(child, [r"\r\n(\((If the app|Drawn for a light)[^\r]*\r\n)?\r\nOr add an account by hand: "])
    drawing = child.before
    expect(child, [r"key:  ([A-Z2-7 ]+)\r\n"])
    key = child.match.group(1).strip()
    expect(child, [r"uri:  (otpauth://\S+)\r\n"])
    uri = child.match.group(1)
    return drawing, key, uri


def save(result):
    with open(os.environ["OUT"], "w") as f:
        json.dump(result, f)


def read_recovery_codes(child):
    expect(child, [r"not shown again\.\r\n"])
    codes = []
    while True:
        i = expect(child, [r"    ([0-9a-z]{5}-[0-9a-z]{5})\r\n", pexpect.EOF])
        if i == 1:
            break
        codes.append(child.match.group(1))
    child.close()
    return child, codes


if scenario == "noprompt":
    # A run that must end before asking anything.
    child = tool_run(*args)
    i = expect(child, [pexpect.EOF, "Password: "])
    if i == 1:
        sys.exit("noprompt: %r asked for the password:\n%s" % (args, "".join(transcript)))
    child.close()
    sys.stdout.write(child.before)
    sys.exit(child.exitstatus if child.exitstatus is not None else 128)
elif scenario == "enroll":
    child = tool_run("mfa", "enroll", *args)
    expect(child, ["Password: "])
    child.sendline(pw)
    if os.environ.get("OLD_KEY"):  # a new phone: a code from the old one first
        expect(child, ["Verification code: "])
        child.sendline(code(os.environ["OLD_KEY"]))
    drawing, key, uri = read_offer(child)
    expect(child, ["Verification code: "])
    child.sendline(code(key))
    expect(child, ["Your (new )?authenticator app is set up"])
    child, codes = read_recovery_codes(child)
    if child.exitstatus != 0:
        sys.exit("enroll: exit %r; output:\n%s" % (child.exitstatus, "".join(transcript)))
    save({"drawing": drawing, "key": key, "uri": uri, "codes": codes})
elif scenario == "enroll-wrong":
    child = tool_run("mfa", "enroll", *args)
    expect(child, ["Password: "])
    child.sendline(pw)
    drawing, key, uri = read_offer(child)
    for _ in range(3):
        expect(child, ["Verification code: "])
        child.sendline(far_code(key))
    expect(child, ["The codes did not match; nothing was changed"])
    expect(child, ["sesame: error: the verification codes did not match"])
    finish(child, 6)
    save({"drawing": drawing, "key": key, "uri": uri})
elif scenario == "enroll-ctrlc":
    child = tool_run("mfa", "enroll", *args)
    expect(child, ["Password: "])
    child.sendline(pw)
    read_offer(child)
    expect(child, ["Verification code: "])
    child.sendintr()
    child = finish(child, None)
    if child.exitstatus == 0:
        sys.exit("enroll-ctrlc: exit 0 after Ctrl-C")
elif scenario == "enroll-closing":
    # The directory is writable when the tool checks it and read-only once
    # the password is asked: only a write done as the user fails then.
    child = tool_run("mfa", "enroll", *args)
    expect(child, ["Password: "])
    os.chmod(os.environ["CLOSING"], 0o755)
    child.sendline(pw)
    expect(child, [r"sesame: error: cannot write \S+: "])
    expect(child, ["The QR code file could not be written; nothing was changed"])
    finish(child, 1)
elif scenario == "identity":
    # mfa remove, recovery-codes new: the password, then a code.
    key = os.environ["KEY"]
    child = tool_run(*args)
    expect(child, ["Password: "])
    child.sendline(pw)
    expect(child, ["Verification code: "])
    child.sendline(code(key))
    if args[0] == "recovery-codes":
        expect(child, ["Your old recovery codes no longer work"])
        child, codes = read_recovery_codes(child)
        if child.exitstatus != 0:
            sys.exit("identity: exit %r; output:\n%s" % (child.exitstatus, "".join(transcript)))
        save({"codes": codes})
    else:
        expect(child, ["Your authenticator app and recovery codes are removed"])
        finish(child, 0)
elif scenario == "pam":
    # pamtester on a pty: pam "password" [code|"totp"|"-"] -> exit 0 when signed in.
    second = args[1]
    preload = os.environ["PAM_PRELOAD"]
    child = spawn(["pamtester", "sesame-check", user, "authenticate"],
                  {"LD_PRELOAD": preload, "PAM_WRAPPER": "1",
                   "PAM_WRAPPER_SERVICE_DIR": os.environ["PAM_DIR"],
                   "PAM_WRAPPER_DISABLE_DEEPBIND": "1"})
    expect(child, ["Password: "])
    child.sendline(args[0])
    if second == "-":
        i = expect(child, ["successfully authenticated", "Verification code: ", "failure"])
        if i != 0:
            sys.exit("pam: password alone: %r:\n%s" % (child.after, "".join(transcript)))
        finish(child, 0)
        sys.exit(0)
    expect(child, ["Verification code: "])
    child.sendline(code(os.environ["KEY"]) if second == "totp" else second)
    i = expect(child, ["successfully authenticated", "Authentication failure|pamtester: [^\r\n]*(failed|error)"])
    finish(child, None)
    sys.exit(0 if i == 0 else 1)
else:
    sys.exit("unknown scenario " + scenario)
PYEOF

# zbar.py FILE [dark-filled]: decodes the terminal drawing in FILE (half
# blocks, light modules filled, or with "dark-filled" dark ones; or ASCII
# "##" dark) through a PBM file and zbarimg.
cat >"$IT_TMP/zbar.py" <<'PYEOF'
import subprocess, sys
dark_filled = sys.argv[2:] == ["dark-filled"]
text = open(sys.argv[1], encoding="utf-8").read().replace("\r\n", "\n")
lines = [l for l in text.split("\n") if l]
dark = []
if any("#" in l for l in lines):
    for l in lines:
        dark.append([l[i:i + 2] == "##" for i in range(0, len(l), 2)])
else:
    halves = {"\u2588": (1, 1), "\u2580": (1, 0), "\u2584": (0, 1), " ": (0, 0)}
    for l in lines:
        cells = [halves[c] for c in l]
        dark.append([bool(c[0]) == dark_filled for c in cells])
        dark.append([bool(c[1]) == dark_filled for c in cells])
    del dark[len(dark[0]):]  # the blank lower half below the quiet zone
scale = 4
with open(sys.argv[1] + ".pbm", "w") as f:
    w = len(dark[0])
    f.write("P1\n%d %d\n" % (w * scale, len(dark) * scale))
    for row in dark:
        line = " ".join("1" if d else "0" for d in row for _ in range(scale))
        for _ in range(scale):
            f.write(line + "\n")
print(subprocess.run(["zbarimg", "--raw", "-q", f.name], capture_output=True,
                     text=True).stdout.strip())
PYEOF

echo -240 >"$IT_TMP/offset"
drive() {
  TOOL="$TOOL" RUN_AS="$USER_A" HOME_A="$HOME_A" PW="${PW:-$PW_A}" OFFSET_FILE="$IT_TMP/offset" \
    OUT="$IT_TMP/out.json" CLOSING="$IT_TMP/closing" PAM_DIR="$IT_TMP/pam.d" \
    PAM_PRELOAD="$(it_preload libpam_wrapper.so)" KEY="${KEY:-}" OLD_KEY="${OLD_KEY:-}" \
    "$PY" "$IT_TMP/drive.py" "$@"
}
as_a() { (cd "$HOME_A" && runuser -u "$USER_A" -- "$@"); }
json_get() { "$PY" -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print("\n".join(v) if isinstance(v, list) else v)' "$IT_TMP/out.json" "$1"; }
status_json() { as_a "$TOOL" status --json; }
assert_methods() {
  local want="$1" got
  got=$(status_json | "$PY" -c 'import json,sys; print(",".join(json.load(sys.stdin)["methods"]))')
  [ "$got" = "$want" ] || fail "$2: methods are '$got', want '$want'"
}

# --- status before anything
out=$(as_a "$TOOL" status) || fail "sesame status exited $?"
grep -q "^Methods: password$" <<<"$out" || fail "status: methods: $out"
grep -q "^MFA required: no$" <<<"$out" || fail "status: MFA required: $out"
pass "status: password only, MFA not required"

# --- bad FILE arguments: exit 2, nothing asked
long=$(head -c 5000 /dev/zero | tr '\0' a)
for bad in "" "$long" "$(printf 'q\033[2J.png')" "$(printf 'q\n.png')" "dir/" "-q.png"; do
  rc=0; err=$(as_a "$TOOL" mfa enroll --qr-png "$bad" 2>&1 </dev/null) || rc=$?
  [ "$rc" -eq 2 ] || fail "--qr-png '${bad:0:20}...': exit $rc, want 2: $err"
  grep -q "^sesame: error: .*--qr-png" <<<"$err" || fail "--qr-png '${bad:0:20}': no clear error: $err"
  ! grep -q "Password" <<<"$err" || fail "--qr-png '${bad:0:20}': asked for the password"
done
rc=0; err=$(as_a "$TOOL" mfa enroll --qr-svg 2>&1 </dev/null) || rc=$?
[ "$rc" -eq 2 ] && grep -q "needs a file name" <<<"$err" || fail "--qr-svg without FILE: $rc: $err"
rc=0; err=$(as_a "$TOOL" mfa enroll --qr-png a.png --qr-svg a.png 2>&1 </dev/null) || rc=$?
[ "$rc" -eq 2 ] && grep -q "name the same file" <<<"$err" || fail "the same FILE twice: $rc: $err"
rc=0; err=$(as_a "$TOOL" mfa enroll "$USER_A" 2>&1 </dev/null) || rc=$?
[ "$rc" -eq 2 ] && grep -q "takes no arguments" <<<"$err" || fail "a user name operand: $rc: $err"
pass "bad FILE arguments (empty, 5000 bytes, control characters, a directory, an option): exit 2, no prompt"

# --- an existing file, an unwritable directory: exit 2 before the password
printf 'keep me\n' >"$HOME_A/exists.png"
chown "$USER_A" "$HOME_A/exists.png"
rc=0; out=$(drive noprompt mfa enroll --qr-png exists.png) || rc=$?
[ "$rc" -eq 2 ] && grep -q "cannot write exists.png: it exists already" <<<"$out" ||
  fail "an existing file: exit $rc, want 2: $out"
[ "$(cat "$HOME_A/exists.png")" = "keep me" ] || fail "an existing file was changed"
ln -s "$HOME_A/nowhere.png" "$HOME_A/link.png"
rc=0; out=$(drive noprompt mfa enroll --qr-svg link.png) || rc=$?
[ "$rc" -eq 2 ] && [ ! -e "$HOME_A/nowhere.png" ] || fail "a dangling symlink: exit $rc: $out"
rc=0; out=$(drive noprompt mfa enroll --qr-png "$IT_TMP/rootdir/q.png") || rc=$?
[ "$rc" -eq 2 ] && grep -q "cannot write $IT_TMP/rootdir/q.png: you cannot create files in" <<<"$out" ||
  fail "a root directory: exit $rc, want 2: $out"
[ -z "$(ls -A "$IT_TMP/rootdir")" ] || fail "a file appeared in the root directory"
assert_methods password "after refused files"
pass "an existing file, a symlink, a directory the user cannot write: exit 2 before the password, nothing changed"

# --- the directory turns read-only after the check: the write as the user fails
drive enroll-closing --qr-png "$IT_TMP/closing/q.png" || fail "read-only directory scenario"
[ -z "$(ls -A "$IT_TMP/closing")" ] || fail "a file appeared in the read-only directory"
assert_methods password "after a failed write"
pass "a write the user may not do fails (exit 1, as the user, not root); nothing enrolled"

# --- three wrong codes; the ASCII drawing (TERM=dumb) decodes
drive enroll-wrong --qr-png wrong.png || fail "wrong codes scenario"
json_get drawing >"$IT_TMP/ascii.txt"
uri=$(json_get uri)
decoded=$("$PY" "$IT_TMP/zbar.py" "$IT_TMP/ascii.txt")
[ "$decoded" = "$uri" ] || fail "the ASCII QR code decodes to '$decoded', not '$uri'"
assert_methods password "after three wrong codes"
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -e "$HOME_A/wrong.png" ] || break; sleep 0.2; done
[ ! -e "$HOME_A/wrong.png" ] || fail "the QR code file of a failed enrollment was left behind"
pass "three wrong codes: exit 6, nothing stored, the file removed; the ASCII QR code decodes"

# --- Ctrl-C at the code prompt
drive enroll-ctrlc --qr-png ctrlc.png || fail "Ctrl-C scenario"
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -e "$HOME_A/ctrlc.png" ] || break; sleep 0.2; done
[ ! -e "$HOME_A/ctrlc.png" ] || fail "the QR code file of a cancelled enrollment was left behind"
assert_methods password "after Ctrl-C"
pass "Ctrl-C at the code prompt: nothing stored, the file removed"

# --- the enrollment, with both files; half blocks on a UTF-8 terminal
DRIVE_TERM=xterm drive enroll --qr-png q.png --qr-svg q.svg || fail "enroll scenario"
KEY=$(json_get key)
uri=$(json_get uri)
mapfile -t CODES < <(json_get codes)
[ "${#CODES[@]}" -eq 10 ] || fail "${#CODES[@]} recovery codes shown, want 10"
case "$uri" in
  "otpauth://totp/Sesame%20IT:$USER_A?secret=${KEY// /}&issuer=Sesame%20IT&"*) ;;
  *) fail "the URI '$uri' does not hold the issuer, the account and the printed key" ;;
esac
json_get drawing >"$IT_TMP/blocks.txt"
grep -q $'\u2580' "$IT_TMP/blocks.txt" || fail "no half blocks on a UTF-8 terminal"
decoded=$("$PY" "$IT_TMP/zbar.py" "$IT_TMP/blocks.txt")
[ "$decoded" = "$uri" ] || fail "the half-block QR code decodes to '$decoded', not '$uri'"
decoded=$(zbarimg --raw -q "$HOME_A/q.png" 2>"$IT_TMP/zbar.err") ||
  fail "zbarimg cannot read q.png: $(cat "$IT_TMP/zbar.err")"
[ "$decoded" = "$uri" ] || fail "q.png decodes to '$decoded', not the printed URI '$uri'"
for f in q.png q.svg; do
  owner=$(stat -c '%U %a' "$HOME_A/$f")
  [ "$owner" = "$USER_A 600" ] || fail "$f is '$owner', want '$USER_A 600'"
done
if convert "$HOME_A/q.svg" "$IT_TMP/q-svg.png" 2>/dev/null && [ -s "$IT_TMP/q-svg.png" ]; then
  decoded=$(zbarimg --raw -q "$IT_TMP/q-svg.png" 2>"$IT_TMP/zbar.err") ||
    fail "zbarimg cannot read the rendered q.svg: $(cat "$IT_TMP/zbar.err")"
  [ "$decoded" = "$uri" ] || fail "q.svg decodes to '$decoded', not '$uri'"
  svg_note="; the SVG decodes too"
else
  svg_note="; SVG not rendered (no ImageMagick SVG support)"
fi
assert_methods password,totp "after the enrollment"
pass "enrolled: the key confirms; half blocks, q.png ($USER_A, 0600) decode to the printed URI$svg_note"

out=$(as_a "$TOOL" status)
grep -q "^Methods: password, authenticator app (TOTP)$" <<<"$out" || fail "status: $out"
grep -q "^Recovery codes left: 10$" <<<"$out" || fail "status: recovery codes: $out"
events=$(admin user show "$USER_A" --json)
grep -q '"method":"mfa-enroll","outcome":"success"' <<<"$events" ||
  fail "no mfa-enroll success event: $events"
grep -q "$KEY\|${KEY// /}" <<<"$events" && fail "the key is in the events"
pass "status lists the authenticator and 10 recovery codes; the event is recorded"

# --- sign in: the password alone is not enough; password + code is
export KEY
drive pam "$PW_A" totp || fail "pamtester: password + a fresh code refused"
drive pam "$PW_A" 000000 && fail "pamtester: a wrong code accepted"
drive pam "$PW_A" "${CODES[0]}" || fail "pamtester: a recovery code refused"
drive pam "$PW_A" "${CODES[0]}" && fail "pamtester: a used recovery code accepted again"
pass "pam_sesame: password + code signs in, a wrong code does not, a recovery code works once"

# --- new recovery codes
drive identity recovery-codes new || fail "recovery-codes new scenario"
mapfile -t NEW_CODES < <(json_get codes)
[ "${#NEW_CODES[@]}" -eq 10 ] || fail "${#NEW_CODES[@]} new recovery codes, want 10"
drive pam "$PW_A" "${CODES[1]}" && fail "an old recovery code still works"
drive pam "$PW_A" "${NEW_CODES[0]}" || fail "a new recovery code is refused"
out=$(as_a "$TOOL" status)
grep -q "^Recovery codes left: 9$" <<<"$out" || fail "status after one new code used: $out"
pass "recovery-codes new: old codes stop working, a new one signs in; 9 left"

# --- a new phone: enroll again; the old key's code first, then it stops working.
# On a terminal whose COLORFGBG names a light background (0;15: black on
# white), the code is drawn with the dark modules filled.
DRIVE_TERM=xterm DRIVE_COLORFGBG="0;15" OLD_KEY="$KEY" drive enroll || fail "enrolling a new phone"
NEW_KEY=$(json_get key)
json_get drawing >"$IT_TMP/light.txt"
decoded=$("$PY" "$IT_TMP/zbar.py" "$IT_TMP/light.txt" dark-filled)
[ "$decoded" = "$(json_get uri)" ] ||
  fail "with COLORFGBG=0;15 the QR code does not decode with dark modules filled: '$decoded'"
[ -z "$("$PY" "$IT_TMP/zbar.py" "$IT_TMP/light.txt")" ] ||
  fail "with COLORFGBG=0;15 the QR code is still drawn for a dark background"
pass "COLORFGBG=0;15: the QR code is drawn for a light background"
[ "$NEW_KEY" != "$KEY" ] || fail "the new phone got the old key"
drive pam "$PW_A" totp && fail "the old phone's key still signs in"
KEY="$NEW_KEY"
drive pam "$PW_A" totp || fail "the new phone's key does not sign in"
drive pam "$PW_A" "${NEW_CODES[1]}" && fail "a recovery code of before the new phone still works"
out=$(as_a "$TOOL" status)
grep -q "^Recovery codes left: 10$" <<<"$out" || fail "status after a new phone: $out"
pass "a new phone: password + the old key's code, then the new key replaces it (and the recovery codes)"

# --- mfa remove while an administrator requires MFA: refused
admin unlock "$USER_A" >/dev/null
admin mfa require "$USER_A" >/dev/null
rc=0; out=$(drive noprompt mfa remove) || rc=$?
[ "$rc" -eq 5 ] && grep -q "sesame mfa enroll" <<<"$out" ||
  fail "mfa remove with MFA required: exit $rc, want 5 with a pointer to 'sesame mfa enroll': $out"
out=$(as_a "$TOOL" status)
grep -q "^MFA required: yes: an administrator requires it" <<<"$out" || fail "status: $out"
assert_methods password,totp "after a refused removal"
admin mfa unrequire "$USER_A" >/dev/null
pass "mfa remove while MFA is required: exit 5 before any prompt, pointing to 'sesame mfa enroll'"

# --- mfa remove
drive identity mfa remove || fail "mfa remove scenario"
assert_methods password "after mfa remove"
out=$(as_a "$TOOL" status)
grep -q "^Methods: password$" <<<"$out" && ! grep -q "^Recovery codes" <<<"$out" ||
  fail "status after mfa remove: $out"
drive pam "$PW_A" - || fail "pamtester: the password alone is refused after mfa remove"
rc=0; out=$(drive noprompt mfa remove) || rc=$?
[ "$rc" -eq 3 ] && grep -q "nothing to remove" <<<"$out" || fail "mfa remove again: exit $rc: $out"
rc=0; out=$(drive noprompt recovery-codes new) || rc=$?
[ "$rc" -eq 3 ] && grep -q "sesame mfa enroll" <<<"$out" ||
  fail "recovery-codes new without an authenticator: exit $rc: $out"
pass "mfa remove: password + code; then password only; nothing to remove again (exit 3)"

# --- a user who must enroll sees until when
admin mfa require "$USER_A" >/dev/null
out=$(as_a "$TOOL" status)
grep -q "^MFA required: yes: .*; not set up: run 'sesame mfa enroll' before " <<<"$out" ||
  fail "status of a user who must enroll: $out"
json=$(status_json)
"$PY" - "$json" <<'PYEOF' || fail "status --json of a user who must enroll: $json"
import json, sys
s = json.loads(sys.argv[1])
assert s["mfa_required"] is True and s["mfa_enroll_by"] and s["mfa_grace_over"] is False, s
assert s["methods"] == ["password"] and s["recovery_codes_left"] == 0, s
PYEOF
pass "status: MFA required, not set up, and until when (text and --json)"
