"""The pty driver of sesame_app_password.sh (not a test itself).

  sesame_app_password.py SCENARIO [ARGS...]

noprompt ARGS...    runs `sesame ARGS...` as RUN_AS; fails if it asks for
                    the password; prints the output, exits with its status
create ARGS...      `sesame app-password create ARGS...`: the password, a
                    code (when KEY is set), then reads the app password,
                    the QR drawing and the OSC 52 sequence; writes them to
                    OUT as JSON ({"secret", "drawing", "osc52", "output"})
create-wrong ARGS...  a wrong code: exit 6, nothing shown
pam SERVICE SECRET [RHOST]  pamtester SERVICE RUN_AS authenticate through
                    pam_wrapper on a pty: exit 0 when signed in, 1 when
                    refused; fails when asked a second question

Environment: TOOL, RUN_AS, HOME_DIR, PW, KEY, OFFSET_FILE, OUT, PAM_DIR,
PAM_PRELOAD, DRIVE_TERM.
"""
import json
import os
import subprocess
import sys

import pexpect

tool, user, home = os.environ["TOOL"], os.environ["RUN_AS"], os.environ["HOME_DIR"]
pw = os.environ.get("PW", "")
scenario, args = sys.argv[1], sys.argv[2:]
term = os.environ.get("DRIVE_TERM", "dumb")
env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TERM": term}
if term != "dumb":
    env["LANG"] = "C.UTF-8"
transcript = []


def code(key, far=False):
    if far:
        return subprocess.check_output(
            ["oathtool", "--totp", "-b", key, "-N", "+1 hour"]).decode().strip()
    # A code for a later time step than any code made before (totp_window
    # is wide in the test's config).
    with open(os.environ["OFFSET_FILE"]) as f:
        offset = int(f.read())
    with open(os.environ["OFFSET_FILE"], "w") as f:
        f.write(str(offset + 30))
    return subprocess.check_output(
        ["oathtool", "--totp", "-b", key, "-N", "%+d seconds" % offset]).decode().strip()


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


def prove(child):
    expect(child, ["Password: "])
    child.sendline(pw)
    if os.environ.get("KEY"):
        expect(child, ["Verification code: "])
        child.sendline(code(os.environ["KEY"]))


if scenario == "noprompt":
    child = tool_run(*args)
    i = expect(child, [pexpect.EOF, "Password: "])
    if i == 1:
        sys.exit("noprompt: %r asked for the password:\n%s" % (args, "".join(transcript)))
    child.close()
    sys.stdout.write(child.before)
    sys.exit(child.exitstatus if child.exitstatus is not None else 128)
elif scenario == "create":
    child = tool_run("app-password", "create", *args)
    prove(child)
    expect(child, [r"Your new app password \"[^\r]*\r\n\r\n    ([a-z]{4}(?: [a-z]{4}){5})\r\n"])
    secret = child.match.group(1)
    expect(child, [r"Or scan it from this QR code \(on a phone\):\r\n\r\n"])
    expect(child, [r"\r\n(\(If the phone[^\r]*\r\n)?\r\nType or paste it"])
    drawing = child.before
    finish(child, 0)
    output = "".join(transcript)
    osc = ""
    start = output.find("\x1b]52;c;")
    if start >= 0:
        osc = output[start:output.find("\x07", start) + 1]
    with open(os.environ["OUT"], "w") as f:
        json.dump({"secret": secret, "drawing": drawing, "osc52": osc, "output": output}, f)
elif scenario == "create-wrong":
    child = tool_run("app-password", "create", *args)
    expect(child, ["Password: "])
    child.sendline(pw)
    for _ in range(3):
        i = expect(child, ["Verification code: ", pexpect.EOF])
        if i == 1:
            break
        child.sendline(code(os.environ["KEY"], far=True))
    child = finish(child, None)
    output = "".join(transcript)
    if "Your new app password" in output:
        sys.exit("create-wrong: an app password was shown:\n" + output)
    sys.stdout.write(output)
    sys.exit(child.exitstatus if child.exitstatus is not None else 128)
elif scenario == "pam":
    service, secret = args[0], args[1]
    cmd = ["pamtester"]
    if len(args) > 2:
        cmd += ["-I", "rhost=" + args[2]]
    cmd += [service, user, "authenticate"]
    child = spawn(cmd, {"LD_PRELOAD": os.environ["PAM_PRELOAD"], "PAM_WRAPPER": "1",
                        "PAM_WRAPPER_SERVICE_DIR": os.environ["PAM_DIR"],
                        "PAM_WRAPPER_DISABLE_DEEPBIND": "1"})
    expect(child, ["Password: "])
    child.sendline(secret)
    i = expect(child, ["successfully authenticated", "Authentication failure|pamtester: [^\r\n]*(failed|error)",
                       "Password: |Verification code: "])
    if i == 2:
        sys.exit("pam: asked a second question:\n" + "".join(transcript))
    finish(child, None)
    sys.stdout.write("".join(transcript))
    sys.exit(0 if i == 0 else 1)
else:
    sys.exit("unknown scenario " + scenario)
