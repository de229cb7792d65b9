#!/bin/bash
# Required MFA over a real OpenSSH sshd on 127.0.0.1 (keyboard-interactive,
# the real ssh client on a UTF-8 pty through pexpect), for a user an
# administrator requires MFA of (`sesame-admin mfa require`) who has not
# enrolled yet. Checked:
#  - after the password, the session shows a QR code (UTF-8 half blocks) and
#    the key, then asks "Verification code (empty to do this later): ";
#  - the QR code as the ssh client drew it, turned into an image, decodes
#    with zbarimg to an otpauth:// URI holding exactly the key shown;
#  - a code from oathtool for that key completes the sign-in and enrolls;
#  - the next sign-in asks "Password:" then "Verification code:", and a
#    code for the new key signs in;
#  - once the grace period is over, a user who has not enrolled is refused
#    after the password, and the client shows whom to ask.
# Setup and cleanup are shared with sshd_mfa.sh (sshd_lib.sh): a throwaway
# system account, /etc/pam.d/sshd-sesame-PID, an sshd on a free port.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

# shellcheck source=tests/integration/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"
sshd_init "sesit-enr-$$"

for c in oathtool zbarimg; do
  command -v "$c" >/dev/null || fail "$c is missing (Debian: oathtool, zbar-tools)"
done

PW_1="ssh-enroll-pass-1"
sshd_add_user "$PW_1"
admin mfa require "$USER_S" >/dev/null || fail "sesame-admin mfa require $USER_S"

start_sshd

# --- the client driver: ssh_enroll.py SCENARIO, on ssh_client.py (next to this
# script); WORK gets the key, the URI, the recovery codes and the refusal
mkdir -m 0700 "$IT_TMP/client-home"
cat >"$IT_TMP/ssh_enroll.py" <<'PYEOF'
import os, re, subprocess, sys
import ssh_client

scenario = sys.argv[1]
pw = os.environ["PW"]
work = os.environ["WORK"]
# ssh shows a keyboard-interactive message without a prompt (what sshd sends
# for PAM messages of a refused sign-in) at LogLevel INFO only, its default:
# the refusal needs it. The QR code needs a UTF-8 terminal.
ssh = ssh_client.Session(scenario, term="xterm", lc_all="C.UTF-8", codec_errors="strict",
                         log_level="INFO" if scenario == "refused" else "ERROR")
child, transcript, expect, finish = ssh.child, ssh.transcript, ssh.expect, ssh.finish

def oathtool(key, offset=0):
    when = "now" if offset == 0 else "%+d seconds" % offset
    return subprocess.run(["oathtool", "--totp", "-b", key, "-N", when], check=True,
                          capture_output=True, text=True).stdout.strip()

UPPER, LOWER, FULL = "\u2580", "\u2584", "\u2588"

def qr_to_pgm(shown, path):
    """Draws the half-block lines as a terminal would (glyphs light on a dark
    background, as RenderQrTerminal's default expects), 6 px per module."""
    lines = [l.rstrip("\r") for l in shown.split("\n")]
    rows = [l for l in lines if l and set(l) <= {UPPER, LOWER, FULL, " "} and l.strip()]
    if len(rows) < 10:
        sys.exit("%s: no QR code in the session output:\n%s" % (scenario, shown))
    width = max(len(r) for r in rows)
    px = []
    for r in rows:
        top = [255 if c in (UPPER, FULL) else 0 for c in r.ljust(width)]
        bottom = [255 if c in (LOWER, FULL) else 0 for c in r.ljust(width)]
        px += [top, bottom]
    scale, margin = 6, 8
    w, h = (width + 2 * margin) * scale, (len(px) + 2 * margin) * scale
    out = bytearray()
    for y in range(h):
        my = y // scale - margin
        for x in range(w):
            mx = x // scale - margin
            inside = 0 <= my < len(px) and 0 <= mx < width
            out.append(px[my][mx] if inside else 0)
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (w, h))
        f.write(bytes(out))

if scenario == "enroll":
    expect(["Password: "])
    child.sendline(pw)
    i = expect(["Verification code \\(empty to do this later\\): ", "SIGNED-IN-OK",
                "Permission denied", "Verification code: "])
    if i != 0:
        sys.exit("enroll: after the password got %r, not the enrollment:\n%s"
                 % (child.after, "".join(transcript)))
    shown = "".join(transcript)
    m = re.search(r"key:\r?\n +([A-Z2-7 ]+)\r?\n", shown)
    if not m:
        sys.exit("enroll: no key in the session output:\n" + shown)
    key = m.group(1).replace(" ", "")
    qr_to_pgm(shown, os.path.join(work, "qr.pgm"))
    uri = subprocess.run(["zbarimg", "--raw", "-q", os.path.join(work, "qr.pgm")],
                         capture_output=True, text=True).stdout.strip()
    if not uri.startswith("otpauth://totp/") or ("secret=" + key) not in uri:
        sys.exit("enroll: the QR code decodes to %r, not an otpauth URI with the key %s"
                 % (uri, key))
    with open(os.path.join(work, "key"), "w") as f:
        f.write(key + "\n")
    with open(os.path.join(work, "uri"), "w") as f:
        f.write(uri + "\n")
    child.sendline(oathtool(key))
    i = expect(["Press Enter once you have saved the recovery codes: ", "SIGNED-IN-OK",
                "Permission denied", "code: "])
    if i != 0:
        sys.exit("enroll: the first code got %r:\n%s" % (child.after, "".join(transcript)))
    codes = re.findall(r"\n    ([0-9a-z]{5}-[0-9a-z]{5})\r?(?=\n)", transcript[-1])
    if len(codes) != 10:
        sys.exit("enroll: %d recovery codes shown, not 10:\n%s" % (len(codes), transcript[-1]))
    with open(os.path.join(work, "recovery"), "w") as f:
        f.write("\n".join(codes) + "\n")
    child.sendline("")
    i = expect(["SIGNED-IN-OK", "Permission denied", ": "])
    if i != 0:
        sys.exit("enroll: after the codes got %r:\n%s" % (child.after, "".join(transcript)))
    finish(0)
elif scenario == "code":
    key = open(os.path.join(work, "key")).read().strip()
    expect(["Password: "])
    child.sendline(pw)
    i = expect(["Verification code: ", "SIGNED-IN-OK", "Permission denied", "later\\): "])
    if i != 0:
        sys.exit("code: after the password got %r:\n%s" % (child.after, "".join(transcript)))
    child.sendline(oathtool(key, 30))  # the enrolling code's step is used; the next is in the window
    i = expect(["SIGNED-IN-OK", "Permission denied", "code: "])
    if i != 0:
        sys.exit("code: got %r:\n%s" % (child.after, "".join(transcript)))
    finish(0)
elif scenario == "refused":
    expect(["Password: "])
    child.sendline(pw)
    i = expect(["Permission denied", "SIGNED-IN-OK", "code: ", "later\\): "])
    if i != 0:
        sys.exit("refused: got %r:\n%s" % (child.after, "".join(transcript)))
    shown = "".join(transcript)
    with open(os.path.join(work, "refused.txt"), "w") as f:
        f.write(shown)
    finish(255)
else:
    sys.exit("unknown scenario " + scenario)
PYEOF

drive() {
  SSH_USER="${DRIVE_USER:-$USER_S}" SSH_PORT="$PORT" CLIENT_HOME="$IT_TMP/client-home" \
    PYTHONPATH="$(dirname "$0")" PYTHONDONTWRITEBYTECODE=1 WORK="$IT_TMP" \
    PW="$PW_1" timeout 60 "$PY" "$IT_TMP/ssh_enroll.py" "$@"
}
# Steps of 30 s: the enrolling code and the next one must not straddle the
# end of a step in a way that leaves the window (+-1 step): start with 8 s left.
left=$((30 - $(date +%s) % 30))
if [ "$left" -lt 8 ]; then sleep "$left"; fi

drive enroll || fail_log "the in-session enrollment over ssh"
pass "ssh shows the QR code and the key after the password; the drawn QR code decodes (zbarimg) to $(sed 's/secret=[A-Z2-7]*/secret=.../' "$IT_TMP/uri")"
json=$(admin user show "$USER_S" --json) || fail "sesame-admin user show"
"$PY" - "$json" <<'PYEOF' || fail "after the enrollment: $json"
import json, sys
u = json.loads(sys.argv[1])
assert "totp" in u["methods"], u
assert u["mfa_required"] is True, u
assert u["recovery_codes_left"] == 10, u
PYEOF
[ "$(wc -l <"$IT_TMP/recovery")" = 10 ] || fail "the recovery codes were not shown over ssh"
pass "a code from oathtool for the shown key completes the sign-in and enrolls; ssh shows the 10 recovery codes before a last prompt"

drive code || fail_log "the next sign-in with the password and a code for the new key"
pass "the next sign-in asks the password and a verification code; a code for the new key signs in"

# --- after the grace period: a second account, required since 8 days ago
USER_2="${USER_S}b"
getent passwd "$USER_2" >/dev/null && fail "user $USER_2 exists already"
useradd -M -N -d "$IT_TMP/home" -s /bin/sh "$USER_2" || fail "useradd $USER_2"
EXTRA_USERS+=("$USER_2")
printf '%s\n' "$PW_1" | admin user add "$USER_2" --password-stdin >/dev/null ||
  fail "sesame-admin user add $USER_2"
"$PY" - "$IT_TMP/state/sesame.db" "$USER_2" <<'PYEOF' || fail "cannot date the requirement back"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
db.execute("UPDATE users SET mfa_required = 1, mfa_required_since = ? WHERE name = ?",
           (int(time.time()) - 8 * 86400, sys.argv[2]))
db.commit()
PYEOF
sed -i "s/^AllowUsers .*/AllowUsers $USER_S $USER_2/" "$IT_TMP/sshd_config"
kill -HUP "$sshd_pid"
sleep 1
DRIVE_USER="$USER_2" drive refused || fail_log "a sign-in after the grace period"
grep -q "sesame-admin mfa enroll $USER_2" "$IT_TMP/refused.txt" ||
  fail "the refusal does not say whom to ask:"$'\n'"$(cat "$IT_TMP/refused.txt")"
pass "after the grace period the sign-in is refused after the password, and ssh shows whom to ask"

grep -E 'fatal|segfault|error: PAM' "$IT_TMP/sshd.log" && fail_log "sshd logged errors"
pass "sshd logged no fatal or PAM errors"
