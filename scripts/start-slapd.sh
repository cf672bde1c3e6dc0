#!/usr/bin/env bash
# A throwaway OpenLDAP directory for the LDAP tests (auth_policy: ldap), on loopback only:
#   ldap://127.0.0.1:3389 (plain and StartTLS) and ldaps://127.0.0.1:3636,
#   with a self-signed CA (DIR/tls/ca.pem) that signed the server certificate (127.0.0.1,
#   localhost), and a second CA that signed nothing (DIR/tls/other-ca.pem).
# Directory: dc=example,dc=org (admin cn=admin,dc=example,dc=org / adminpw),
#   ou=people: alice (uidNumber 2101, gidNumber 2101, /home/alice, alice@example.org, alicepw),
#              bob (2102, 2102, /home/bob, bob@example.org, bobpw);
#   ou=groups: science (posixGroup, gidNumber 2200, memberUid alice).
#
# usage: scripts/start-slapd.sh [DIR]        start (stops an instance already running in DIR)
#        scripts/start-slapd.sh stop [DIR]   stop
# DIR defaults to /tmp/god-ldap. Ports: GOD_LDAP_PORT (3389), GOD_LDAPS_PORT (3636).
# Prints the pid file's path on the last line of stdout. Installs slapd and ldap-utils with
# apt-get if they are missing (their postinst cannot start a daemon without systemd: fine).
set -euo pipefail

cmd=start
if [ "${1:-}" = stop ] || [ "${1:-}" = start ]; then
    cmd=$1
    shift
fi
DIR=${1:-/tmp/god-ldap}
PORT=${GOD_LDAP_PORT:-3389}
SPORT=${GOD_LDAPS_PORT:-3636}
SUFFIX="dc=example,dc=org"
ADMIN_DN="cn=admin,$SUFFIX"
PIDFILE="$DIR/slapd.pid"

log() { echo "start-slapd: $*" >&2; }

stop_slapd() {
    [ -f "$PIDFILE" ] || return 0
    local pid
    pid=$(cat "$PIDFILE" 2>/dev/null || true)
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = slapd ]; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            [ -d "/proc/$pid" ] || break
            sleep 0.05
        done
        if [ -d "/proc/$pid" ]; then
            log "slapd $pid did not stop: SIGKILL"
            kill -9 "$pid" 2>/dev/null || true
            sleep 0.2
        fi
        log "stopped slapd $pid"
    fi
    rm -f "$PIDFILE"
}

MARK="# written by Go-Docker scripts/start-slapd.sh"

# A slapd of this script left by a killed test run in another DIR, holding our ports.
stop_stale() {
    local pid args conf
    for pid in $(pgrep -x slapd || true); do
        args=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)
        case "$args" in *"ldap://127.0.0.1:$PORT/"*) ;; *) continue ;; esac
        conf=$(sed -n 's/.* -f \([^ ]*\) .*/\1/p' <<<"$args")
        if [ -n "$conf" ] && grep -qxF "$MARK" "$conf" 2>/dev/null; then
            log "stopping stale slapd $pid ($conf)"
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do
                [ -d "/proc/$pid" ] || break
                sleep 0.05
            done
        fi
    done
}

if [ "$cmd" = stop ]; then
    stop_slapd
    exit 0
fi

# --- install ---------------------------------------------------------------------------------
SLAPD=/usr/sbin/slapd
if [ ! -x "$SLAPD" ] || ! command -v ldapadd >/dev/null || ! command -v openssl >/dev/null; then
    log "installing slapd ldap-utils openssl"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slapd ldap-utils openssl >/dev/null
fi

# --- a fresh directory -----------------------------------------------------------------------
stop_slapd
stop_stale
case "$DIR" in
    /|/tmp|/root|/home|/usr|/etc|/var) log "refusing to use $DIR"; exit 2 ;;
esac
rm -rf "$DIR/db" "$DIR/tls" "$DIR/slapd.conf" "$DIR/base.ldif" "$DIR/slapd.args"
mkdir -p "$DIR/db" "$DIR/tls"

# --- certificates ----------------------------------------------------------------------------
T="$DIR/tls"
ossl() { openssl "$@" 2>/dev/null; }
ossl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout "$T/ca.key" -out "$T/ca.pem" \
    -subj "/CN=Go-Docker test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
ossl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout "$T/other-ca.key" -out "$T/other-ca.pem" \
    -subj "/CN=Some other CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
ossl req -new -newkey rsa:2048 -nodes -keyout "$T/server.key" -out "$T/server.csr" -subj "/CN=localhost"
cat > "$T/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EOF
ossl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
    -days 30 -extfile "$T/server.ext" -out "$T/server.pem"
chmod 600 "$T"/*.key

# --- configuration and data ------------------------------------------------------------------
ADMIN_HASH=$(slappasswd -s adminpw)
cat > "$DIR/slapd.conf" <<EOF
$MARK
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $PIDFILE
argsfile $DIR/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile $T/ca.pem
TLSCertificateFile $T/server.pem
TLSCertificateKeyFile $T/server.key
database mdb
maxsize 104857600
suffix "$SUFFIX"
rootdn "$ADMIN_DN"
rootpw $ADMIN_HASH
directory $DIR/db
index objectClass eq
index uid eq
index mail eq
index memberUid eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
EOF

person() { # uid number password
    cat <<EOF
dn: uid=$1,ou=people,$SUFFIX
objectClass: inetOrgPerson
objectClass: posixAccount
uid: $1
cn: $1
sn: $1
mail: $1@example.org
uidNumber: $2
gidNumber: $2
homeDirectory: /home/$1
loginShell: /bin/bash
userPassword: $(slappasswd -s "$3")

EOF
}
{
    cat <<EOF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,$SUFFIX
objectClass: organizationalUnit
ou: people

dn: ou=groups,$SUFFIX
objectClass: organizationalUnit
ou: groups

EOF
    person alice 2101 alicepw
    person bob 2102 bobpw
    cat <<EOF
dn: cn=science,ou=groups,$SUFFIX
objectClass: posixGroup
cn: science
gidNumber: 2200
memberUid: alice

EOF
} > "$DIR/base.ldif"

slaptest -f "$DIR/slapd.conf" -u >/dev/null 2>&1 || { slaptest -f "$DIR/slapd.conf" -u; exit 1; }
slapadd -f "$DIR/slapd.conf" -l "$DIR/base.ldif" >/dev/null 2>&1 \
    || { slapadd -f "$DIR/slapd.conf" -l "$DIR/base.ldif"; exit 1; }

# --- start and check -------------------------------------------------------------------------
"$SLAPD" -f "$DIR/slapd.conf" -h "ldap://127.0.0.1:$PORT/ ldaps://127.0.0.1:$SPORT/"
export LDAPTLS_CACERT="$T/ca.pem" LDAPTLS_REQCERT=demand
ok=
for _ in $(seq 1 100); do
    if ldapwhoami -x -H "ldap://127.0.0.1:$PORT" -D "uid=alice,ou=people,$SUFFIX" -w alicepw \
        >/dev/null 2>&1; then
        ok=1
        break
    fi
    sleep 0.05
done
if [ -z "$ok" ]; then
    log "slapd did not answer on ldap://127.0.0.1:$PORT"
    stop_slapd
    exit 1
fi
ldapwhoami -x -H "ldaps://127.0.0.1:$SPORT" -D "uid=alice,ou=people,$SUFFIX" -w alicepw >/dev/null \
    || { log "LDAPS check failed"; stop_slapd; exit 1; }
ldapwhoami -x -ZZ -H "ldap://127.0.0.1:$PORT" -D "uid=alice,ou=people,$SUFFIX" -w alicepw >/dev/null \
    || { log "StartTLS check failed"; stop_slapd; exit 1; }
log "slapd $(cat "$PIDFILE") on ldap://127.0.0.1:$PORT and ldaps://127.0.0.1:$SPORT (CA $T/ca.pem)"
echo "$PIDFILE"
