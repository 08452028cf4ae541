#!/usr/bin/env bash
# Throwaway OpenLDAP slapd for authcore-ldap's tests, on a free loopback high port, in a temp
# directory. Installs `slapd ldap-utils openssl` with apt when missing and running as root.
#
# Prints KEY=VALUE lines (for scripts/test to export) on stdout, progress on stderr:
#   AUTHCORE_TEST_LDAP_URL        ldap://127.0.0.1:PORT (StartTLS available)
#   AUTHCORE_TEST_LDAPS_URL       ldaps://127.0.0.1:PORT2 (TLS from the first byte)
#   AUTHCORE_TEST_LDAP_CA         PEM file of the test CA that signed slapd's certificate
#   AUTHCORE_TEST_LDAP_BASE_DN    dc=example,dc=org
#   AUTHCORE_TEST_LDAP_BIND_DN / AUTHCORE_TEST_LDAP_BIND_PASS   read-only service account
#   AUTHCORE_TEST_LDAP_ROOT_DN / AUTHCORE_TEST_LDAP_ROOT_PASS   directory manager (tests that edit)
#   AUTHCORE_TEST_SLAPD_CTL       script taking `stop` or `start` (outage tests, cleanup)
#   SLAPD_DIR                     the temp directory (removed by scripts/test)
#
# The test tree (passwords in brackets; group -> role mapping is done by the tests):
#   ou=people:      alice [alicepw]  admins, viewers
#                   bob   [bobpw]    viewers, operators
#                   carol [carolpw]  no group
#                   frank [frankpw]  viewers (tests remove him from it)
#                   dup   [duppw]    viewers
#                   `sp*c(i)a\l,x=y+z` [specialpw]  `ops, special (+)`
#                   `nul\00user` (a backslash, then 00) [nulpw]  viewers
#   ou=contractors: dup   [dup2pw]   viewers   (so a subtree search for uid=dup is ambiguous)
#                   erin  [erinpw]   operators
#   ou=groups:      admins, viewers, operators, `ops, special (+)` (groupOfNames; the memberof
#                   overlay maintains memberOf on the users)
set -euo pipefail

SUFFIX="dc=example,dc=org"
ROOTDN="cn=admin,$SUFFIX"
ROOTPW="adminpw"
READERDN="cn=reader,$SUFFIX"
READERPW="readerpw"

log() { printf '[start-slapd] %s\n' "$*" >&2; }

# ---- packages ----
need_install=()
for bin in slapd:slapd slappasswd:slapd ldapadd:ldap-utils ldapsearch:ldap-utils openssl:openssl; do
  cmd=${bin%%:*}
  pkg=${bin##*:}
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then need_install+=("$pkg"); fi
done
if [ ${#need_install[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "missing: ${need_install[*]} (install slapd ldap-utils openssl, or run as root on Debian)"
    exit 1
  fi
  log "installing ${need_install[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${need_install[@]}" >&2; then
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${need_install[@]}" >&2
  fi
  # Debian starts a system slapd on port 389 after installing; ours does not need it.
  if command -v service >/dev/null 2>&1; then service slapd stop >/dev/null 2>&1 || true; fi
fi
PATH=$PATH:/usr/sbin

MODULEPATH=""
for d in /usr/lib/ldap /usr/lib/openldap /usr/libexec/openldap /usr/lib64/openldap; do
  if [ -e "$d/back_mdb.la" ] || [ -e "$d/back_mdb.so" ]; then MODULEPATH=$d; break; fi
done
SCHEMA=/etc/ldap/schema
[ -d "$SCHEMA" ] || SCHEMA=/etc/openldap/schema

DIR=$(mktemp -d -t authcore-slapd.XXXXXX)
mkdir -p "$DIR/data"
chmod 755 "$DIR"

# ---- test CA and server certificate (SAN 127.0.0.1 and localhost) ----
(
  cd "$DIR"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=authcore test CA" -keyout ca.key -out ca.pem \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' > server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem 2>/dev/null
  chmod 644 ca.pem server.pem server.key
)

# ---- slapd.conf ----
{
  for s in core cosine inetorgperson nis; do echo "include $SCHEMA/$s.schema"; done
  echo "pidfile $DIR/slapd.pid"
  [ -n "$MODULEPATH" ] && printf 'modulepath %s\nmoduleload back_mdb\nmoduleload memberof\n' "$MODULEPATH"
  cat <<EOF
loglevel none
TLSCACertificateFile $DIR/ca.pem
TLSCertificateFile $DIR/server.pem
TLSCertificateKeyFile $DIR/server.key
database mdb
maxsize 67108864
suffix "$SUFFIX"
rootdn "$ROOTDN"
rootpw $(slappasswd -h '{SSHA}' -s "$ROOTPW")
directory $DIR/data
index objectClass,uid,mail,member eq
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
EOF
} > "$DIR/slapd.conf"
slaptest -Q -u -f "$DIR/slapd.conf" >&2

# ---- control script (start|stop), reused by tests for the outage case ----
cat > "$DIR/ctl.sh" <<EOF
#!/usr/bin/env bash
# start|stop the test slapd of $DIR
set -euo pipefail
PATH=\$PATH:/usr/sbin
DIR=$DIR
PORT=\$(cat "\$DIR/port" 2>/dev/null || echo 0)
TLS_PORT=\$(cat "\$DIR/tls_port" 2>/dev/null || echo 0)
URL=ldap://127.0.0.1:\$PORT
running() { [ -s "\$DIR/slapd.pid" ] && kill -0 "\$(cat "\$DIR/slapd.pid")" 2>/dev/null; }
case \${1:-} in
  start)
    if running; then exit 0; fi
    rm -f "\$DIR/slapd.pid"
    # Detached, no inherited stdout: callers that capture output must not wait for slapd.
    setsid slapd -f "\$DIR/slapd.conf" -h "\$URL/ ldaps://127.0.0.1:\$TLS_PORT/" -d 0 </dev/null >>"\$DIR/slapd.log" 2>&1 &
    pid=\$!
    for _ in \$(seq 200); do
      if ldapsearch -x -H "\$URL" -b "" -s base -LLL >/dev/null 2>&1; then exit 0; fi
      if ! kill -0 \$pid 2>/dev/null; then tail -n 20 "\$DIR/slapd.log" >&2; exit 1; fi
      sleep 0.05
    done
    echo "slapd did not answer on \$URL" >&2; exit 1 ;;
  stop)
    if [ -s "\$DIR/slapd.pid" ]; then
      pid=\$(cat "\$DIR/slapd.pid")
      kill "\$pid" 2>/dev/null || true
      for _ in \$(seq 100); do kill -0 "\$pid" 2>/dev/null || break; sleep 0.05; done
      kill -9 "\$pid" 2>/dev/null || true
      rm -f "\$DIR/slapd.pid"
    fi ;;
  *) echo "usage: \$0 start|stop" >&2; exit 2 ;;
esac
EOF
chmod 755 "$DIR/ctl.sh"

# ---- a free loopback high port (retry if another process takes it first) ----
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
started=""
for _ in $(seq 20); do
  PORT=$((20000 + RANDOM % 40000))
  TLS_PORT=$((PORT + 1))
  port_free "$PORT" && port_free "$TLS_PORT" || continue
  echo "$PORT" > "$DIR/port"
  echo "$TLS_PORT" > "$DIR/tls_port"
  if "$DIR/ctl.sh" start; then started=1; break; fi
done
if [ -z "$started" ]; then log "slapd did not start; log: $DIR/slapd.log"; exit 1; fi
URL="ldap://127.0.0.1:$PORT"

# ---- the test tree ----
ssha() { slappasswd -h '{SSHA}' -s "$1"; }
user() { # rdn-escaped-uid uid ou given sn password
  printf 'dn: uid=%s,ou=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s %s\ngivenName: %s\nsn: %s\nmail: %s@example.org\nuserPassword: %s\n\n' \
    "$1" "$3" "$SUFFIX" "$2" "$4" "$5" "$4" "$5" "$(printf '%s' "$2" | tr -c 'a-z0-9' 'x')" "$(ssha "$6")"
}
group() { # cn-rdn cn member-dn...
  local rdn=$1 cn=$2; shift 2
  printf 'dn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: %s\n' "$rdn" "$SUFFIX" "$cn"
  for m in "$@"; do printf 'member: %s,%s\n' "$m" "$SUFFIX"; done
  printf '\n'
}
SPECIAL_RDN='sp*c(i)a\5cl\2cx\3dy\2bz'
NUL_RDN='nul\5c00user'
{
  printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n' "$SUFFIX"
  printf 'dn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: %s\n\n' "$READERDN" "$(ssha "$READERPW")"
  for ou in people contractors groups; do printf 'dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n' $ou "$SUFFIX" $ou; done
  user alice alice people Alice Liddell alicepw
  user bob bob people Bob Builder bobpw
  user carol carol people Carol Danvers carolpw
  user frank frank people Frank Poole frankpw
  user dup dup people Dup People duppw
  user "$SPECIAL_RDN" 'sp*c(i)a\l,x=y+z' people Special Chars specialpw
  user "$NUL_RDN" 'nul\00user' people Nul Escape nulpw
  user dup dup contractors Dup Contractor dup2pw
  user erin erin contractors Erin Brockovich erinpw
  group admins admins "uid=alice,ou=people"
  group viewers viewers "uid=alice,ou=people" "uid=bob,ou=people" "uid=frank,ou=people" \
    "uid=dup,ou=people" "uid=dup,ou=contractors" "uid=$NUL_RDN,ou=people"
  group operators operators "uid=bob,ou=people" "uid=erin,ou=contractors"
  group 'ops\2c special (\2b)' 'ops, special (+)' "uid=$SPECIAL_RDN,ou=people"
} > "$DIR/tree.ldif"
ldapadd -x -H "$URL" -D "$ROOTDN" -w "$ROOTPW" -f "$DIR/tree.ldif" >/dev/null

printf 'SLAPD_DIR=%s\n' "$DIR"
printf 'AUTHCORE_TEST_SLAPD_CTL=%s\n' "$DIR/ctl.sh"
printf 'AUTHCORE_TEST_LDAP_URL=%s\n' "$URL"
printf 'AUTHCORE_TEST_LDAPS_URL=ldaps://127.0.0.1:%s\n' "$TLS_PORT"
printf 'AUTHCORE_TEST_LDAP_CA=%s\n' "$DIR/ca.pem"
printf 'AUTHCORE_TEST_LDAP_BASE_DN=%s\n' "$SUFFIX"
printf 'AUTHCORE_TEST_LDAP_BIND_DN=%s\n' "$READERDN"
printf 'AUTHCORE_TEST_LDAP_BIND_PASS=%s\n' "$READERPW"
printf 'AUTHCORE_TEST_LDAP_ROOT_DN=%s\n' "$ROOTDN"
printf 'AUTHCORE_TEST_LDAP_ROOT_PASS=%s\n' "$ROOTPW"
log "slapd on $URL (dir $DIR)"
