# sesame-admin import-shadow with real /etc/shadow entries: yescrypt,
# sha512crypt and bcrypt hashes are adopted, locked and empty ones are
# skipped with their reason; each adopted account then signs in through the
# real libpam and pam_sesame.so, and its hash becomes argon2id at the first
# successful sign-in. Creates throwaway system users and removes them (and
# its temp dir) on exit.
# shellcheck shell=bash disable=SC2016  # '$y$' and the like are literal
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

it_setup

# Names <= 32 characters (useradd's limit).
tag=$$
u_y="sesimp_y_$tag"
u_s="sesimp_s_$tag"
u_b="sesimp_b_$tag"
u_l="sesimp_l_$tag"
u_e="sesimp_e_$tag"
u_none="sesimp_n_$tag"  # never created
users=("$u_y" "$u_s" "$u_b" "$u_l" "$u_e")
for u in "${users[@]}" "$u_none"; do
  [ "${#u}" -le 32 ] || fail "user name $u is longer than 32 characters"
done

cleanup() {
  for u in "${users[@]}"; do
    if getent passwd "$u" >/dev/null; then userdel "$u" 2>/dev/null || true; fi
  done
  rm -rf "$IT_TMP"
}
trap cleanup EXIT

pw_y='yes-Crypt pw 1'
pw_s='sha512 Pass-word 2'
pw_b='bcrypt~password 3'

shadow_field() { getent shadow "$1" | cut -d: -f2; }

for u in "${users[@]}"; do
  getent passwd "$u" >/dev/null && fail "user $u exists already"
  useradd -M -s /usr/sbin/nologin "$u" || fail "useradd $u"
done

# yescrypt: Debian 12's chpasswd default (through PAM); name it if this host
# is configured otherwise.
printf '%s:%s\n' "$u_y" "$pw_y" | chpasswd || fail "chpasswd $u_y"
case "$(shadow_field "$u_y")" in
  '$y$'*) ;;
  *) printf '%s:%s\n' "$u_y" "$pw_y" | chpasswd -c YESCRYPT || fail "chpasswd -c YESCRYPT $u_y" ;;
esac
printf '%s:%s\n' "$u_s" "$pw_s" | chpasswd -c SHA512 || fail "chpasswd -c SHA512 $u_s"
# bcrypt: the password goes through the environment, never argv.
bhash=$(PW="$pw_b" python3 -W ignore -c \
  'import crypt, os; print(crypt.crypt(os.environ["PW"], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))') \
  || fail "python3 could not make a bcrypt hash"
usermod -p "$bhash" "$u_b" || fail "usermod -p $u_b"
printf '%s:%s\n' "$u_l" "locked pw 4" | chpasswd || fail "chpasswd $u_l"
passwd -l "$u_l" >/dev/null || fail "passwd -l $u_l"
usermod -p '' "$u_e" || fail "usermod -p '' $u_e"

case "$(shadow_field "$u_y")" in '$y$'*) ;; *) fail "$u_y: shadow hash is not yescrypt" ;; esac
case "$(shadow_field "$u_s")" in '$6$'*) ;; *) fail "$u_s: shadow hash is not sha512crypt" ;; esac
case "$(shadow_field "$u_b")" in '$2b$'*) ;; *) fail "$u_b: shadow hash is not bcrypt" ;; esac
case "$(shadow_field "$u_l")" in '!'*) ;; *) fail "$u_l: shadow entry is not locked" ;; esac
[ -z "$(shadow_field "$u_e")" ] || fail "$u_e: shadow password field is not empty"
pass "made users with yescrypt, sha512crypt, bcrypt, locked and empty shadow entries"

# ---- import ----
out=$("$SESAME_ADMIN" --config "$IT_CONF" import-shadow "${users[@]}" 2>"$IT_TMP/err") \
  || fail "import-shadow exited $?: $out $(cat "$IT_TMP/err")"
expect_line() {
  grep -qxF -- "$1" <<<"$out" || fail "import-shadow output lacks '$1'; got:"$'\n'"$out"
}
expect_line "imported $u_y (yescrypt)"
expect_line "imported $u_s (sha512crypt)"
expect_line "imported $u_b (bcrypt)"
expect_line "skipped $u_l: locked (starts with '!')"
expect_line "skipped $u_e: no password ('*' or empty)"
[ "$(wc -l <<<"$out")" -eq 5 ] || fail "import-shadow printed more than one line per user:"$'\n'"$out"
for u in "$u_y" "$u_s" "$u_b"; do
  h=$(shadow_field "$u")
  grep -qF -- "$h" <<<"$out$(cat "$IT_TMP/err")" && fail "import-shadow printed the hash of $u"
done
pass "import-shadow imported 3 and skipped the locked and the empty entry, saying why"

# The skipped ones are not in the store.
for u in "$u_l" "$u_e"; do
  "$SESAME_ADMIN" --config "$IT_CONF" user show "$u" >/dev/null 2>&1 && fail "$u was imported"
done

# Again: kept, not replaced.
out=$("$SESAME_ADMIN" --config "$IT_CONF" import-shadow "$u_y" "$u_s") \
  || fail "second import-shadow exited $?"
expect_line "skipped $u_y: exists in the store; kept"
expect_line "skipped $u_s: exists in the store; kept"
pass "a second import keeps accounts already in the store"

# A name that is not in /etc/shadow: said, and exit 3 after the others.
set +e
out=$("$SESAME_ADMIN" --config "$IT_CONF" import-shadow "$u_none" "$u_b" 2>"$IT_TMP/err")
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "import-shadow with an unknown name exited $rc, want 3"
grep -qF "$u_none: not in /etc/shadow" "$IT_TMP/err" || fail "no 'not in /etc/shadow': $(cat "$IT_TMP/err")"
expect_line "skipped $u_b: exists in the store; kept"
pass "a name not in /etc/shadow is reported, exit 3"

# ---- sign in through libpam ----
it_service sesame-it "auth required $SESAME_MODULE config=$IT_CONF" \
  "account required $SESAME_MODULE config=$IT_CONF"

hash_kind() {
  "$SESAME_ADMIN" --config "$IT_CONF" user show "$1" --json \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["password_hash"])'
}

check_user() {
  local u="$1" pw="$2" kind
  kind=$(hash_kind "$u") || fail "user show $u"
  case "$kind" in argon2id*) fail "$u: hash is already argon2id before any sign-in" ;; esac

  if printf '%s\n' "wrong $pw" | it_pamtester sesame-it "$u" authenticate >/dev/null 2>&1; then
    fail "$u: a wrong password was accepted (crypt hash)"
  fi
  kind=$(hash_kind "$u") || fail "user show $u"
  case "$kind" in argon2id*) fail "$u: a failed sign-in replaced the hash" ;; esac

  printf '%s\n' "$pw" | it_pamtester sesame-it "$u" authenticate >"$IT_TMP/pam.out" 2>&1 \
    || fail "$u: the shadow password was refused: $(cat "$IT_TMP/pam.out")"
  kind=$(hash_kind "$u") || fail "user show $u"
  case "$kind" in
    argon2id*) ;;
    *) fail "$u: hash is '$kind' after a successful sign-in, want argon2id" ;;
  esac

  # The argon2id hash takes the same password, and only that one.
  printf '%s\n' "$pw" | it_pamtester sesame-it "$u" authenticate >"$IT_TMP/pam.out" 2>&1 \
    || fail "$u: the password was refused after the rehash: $(cat "$IT_TMP/pam.out")"
  if printf '%s\n' "wrong $pw" | it_pamtester sesame-it "$u" authenticate >/dev/null 2>&1; then
    fail "$u: a wrong password was accepted (argon2id hash)"
  fi
  pass "$u signs in with the shadow password, which then is argon2id"
}

check_user "$u_y" "$pw_y"
check_user "$u_s" "$pw_s"
check_user "$u_b" "$pw_b"
