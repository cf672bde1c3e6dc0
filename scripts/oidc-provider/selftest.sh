#!/usr/bin/env bash
# Self-test of provider.mjs: drives a full authorization code flow (login +
# consent, PKCE S256, nonce) without a browser, the way an integration test
# would: no automatic redirects, cookies handled by hand (python3 stdlib only).
# Exit 0 on success. Usage: scripts/oidc-provider/selftest.sh
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules/oidc-provider ] || npm ci --no-audit --no-fund --silent

tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

export OIDC_PORT=0 OIDC_CLIENT_ID=gd-selftest OIDC_CLIENT_SECRET='s3cret:with/odd chars'
export OIDC_REDIRECT_URI=http://127.0.0.1:9/callback
node provider.mjs >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do   # wait up to 10 s for the readiness line
  grep -q '^oidc-provider listening on ' "$tmp/out" && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/err" >&2; exit 1; }
  sleep 0.1
done
line=$(head -n1 "$tmp/out")
[[ $line =~ ^oidc-provider\ listening\ on\ (http://127\.0\.0\.1:[0-9]+)$ ]] || { echo "no readiness line" >&2; cat "$tmp/err" >&2; exit 1; }
export OIDC_ISSUER=${BASH_REMATCH[1]}

python3 - <<'EOF' || { echo "--- provider stderr:" >&2; cat "$tmp/err" >&2; exit 1; }
import base64, hashlib, http.client, json, os, re, secrets
from urllib.parse import urlencode, urlsplit, parse_qs, quote

iss = os.environ["OIDC_ISSUER"]; cid = os.environ["OIDC_CLIENT_ID"]
secret = os.environ["OIDC_CLIENT_SECRET"]; redirect = os.environ["OIDC_REDIRECT_URI"]
host = urlsplit(iss)
jar = {}  # cookie name -> (value, path); latest Set-Cookie wins, empty value = deleted

def b64d(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def req(method, url, body=None, headers=None):
    """One request, no redirect following; stores Set-Cookie, sends matching cookies."""
    u = urlsplit(url if url.startswith("http") else iss + url)
    assert (u.hostname, u.port) == (host.hostname, host.port), f"left the provider: {url}"
    path = u.path + ("?" + u.query if u.query else "")
    h = dict(headers or {})
    cookies = [f"{n}={v}" for n, (v, p) in jar.items() if u.path == p or u.path.startswith(p.rstrip("/") + "/")]
    if cookies: h["Cookie"] = "; ".join(cookies)
    if body is not None: h["Content-Type"] = "application/x-www-form-urlencoded"
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request(method, path, body=urlencode(body) if body is not None else None, headers=h)
    r = c.getresponse(); data = r.read().decode(); c.close()
    for sc in r.headers.get_all("Set-Cookie") or []:
        name, value = sc.split(";")[0].split("=", 1)
        p = re.search(r";\s*path=([^;]*)", sc, re.I).group(1)
        if value: jar[name] = (value, p)
        else: jar.pop(name, None)
    print(f"{method} {path[:60]:60} -> {r.status} {r.headers.get('Location', '')[:70]}")
    return r.status, r.headers.get("Location"), data

# Discovery
st, _, d = req("GET", "/.well-known/openid-configuration"); assert st == 200
disc = json.loads(d); assert disc["issuer"] == iss and "S256" in disc["code_challenge_methods_supported"]
auth_ep = urlsplit(disc["authorization_endpoint"]).path; tok_ep = urlsplit(disc["token_endpoint"]).path

# 1. Authorization request (PKCE S256 + nonce + state)
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
q = urlencode({"client_id": cid, "response_type": "code", "scope": "openid profile email",
               "redirect_uri": redirect, "state": state, "nonce": nonce,
               "code_challenge": challenge, "code_challenge_method": "S256"})
st, loc, _ = req("GET", f"{auth_ep}?{q}"); assert st == 303 and loc.startswith("/interaction/"), loc

# 2. Login then consent: each is GET /interaction/<uid> (HTML form), POST form
#    to the same URL -> 303 /auth/<uid> -> GET it -> 303 next interaction or redirect_uri
for prompt, form in (("login", {"prompt": "login", "login": "alice", "password": "whatever"}),
                     ("consent", {"prompt": "consent"})):
    st, _, html = req("GET", loc); assert st == 200
    assert f'name="prompt" value="{prompt}"' in html, f"expected {prompt} form"
    action = re.search(r'<form[^>]*action="([^"]+)"', html).group(1)
    st, loc, _ = req("POST", action, form); assert st == 303 and "/auth/" in loc, loc
    st, loc, _ = req("GET", loc); assert st == 303, st
assert loc.startswith(redirect + "?"), loc
cb = parse_qs(urlsplit(loc).query)
assert cb["state"] == [state] and cb["iss"] == [iss], cb
code = cb["code"][0]

# 3. Token request, client_secret_basic (id and secret form-urlencoded, RFC 6749 2.3.1)
basic = base64.b64encode(f"{quote(cid, safe='')}:{quote(secret, safe='')}".encode()).decode()
tok = lambda v: req("POST", tok_ep, {"grant_type": "authorization_code", "code": code,
                    "redirect_uri": redirect, "code_verifier": v}, {"Authorization": "Basic " + basic})
st, _, d = tok("wrong-" + verifier); assert st == 400 and json.loads(d)["error"] == "invalid_grant", d
st, _, d = tok(verifier); assert st == 200, d
t = json.loads(d)

# 4. ID token: RS256 signature against /jwks (PKCS#1 v1.5 by hand), then claims
h64, p64, s64 = t["id_token"].split(".")
hdr, claims = json.loads(b64d(h64)), json.loads(b64d(p64))
assert hdr["alg"] == "RS256", hdr
st, _, d = req("GET", urlsplit(disc["jwks_uri"]).path); assert st == 200
k = next(k for k in json.loads(d)["keys"] if k["kid"] == hdr["kid"])
n, e = (int.from_bytes(b64d(k[x]), "big") for x in ("n", "e"))
em = pow(int.from_bytes(b64d(s64), "big"), e, n).to_bytes((n.bit_length() + 7) // 8, "big")
digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(f"{h64}.{p64}".encode()).digest()
assert em == b"\x00\x01" + b"\xff" * (len(em) - len(digest_info) - 3) + b"\x00" + digest_info, "bad signature"
want = {"iss": iss, "aud": cid, "sub": "alice", "preferred_username": "alice",
        "email": "alice@example.org", "email_verified": True, "nonce": nonce}
assert all(claims.get(kk) == v for kk, v in want.items()), claims
print("id_token claims:", claims)

# 5. userinfo with the access token
st, _, d = req("GET", urlsplit(disc["userinfo_endpoint"]).path, headers={"Authorization": "Bearer " + t["access_token"]})
assert st == 200 and json.loads(d)["email"] == "alice@example.org", d
print("selftest OK")
EOF

# stdout must hold only the readiness line, even after a full flow.
[ "$(wc -l <"$tmp/out")" -eq 1 ] || { echo "unexpected stdout:" >&2; cat "$tmp/out" >&2; exit 1; }
