"""A tiny OpenID Connect identity provider for tests (ours): discovery, an authorization endpoint with a login form,
a token endpoint (authorization code, client_secret_basic or _post), JWKS, userinfo; ID tokens signed RS256 with a key
made at start (PyJWT and cryptography of the Airflow image). State lives in memory: one replica, test namespaces only.

Environment: IDP_ISSUER (the URL pods reach it at: issuer, token, jwks, userinfo), IDP_PUBLIC_URL (the URL browsers
reach it at: the authorization endpoint), IDP_CLIENT_ID, IDP_CLIENT_SECRET, IDP_USERS (JSON: {user: {password, email,
groups: [...], given_name, family_name}}), IDP_PORT (default 5000).
"""

from __future__ import annotations

import base64
import hmac
import html
import json
import os
import secrets
import time
import urllib.parse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, abort, jsonify, redirect, request

ISSUER = os.environ["IDP_ISSUER"].rstrip("/")
PUBLIC = os.environ.get("IDP_PUBLIC_URL", ISSUER).rstrip("/")
CLIENT_ID = os.environ["IDP_CLIENT_ID"]
CLIENT_SECRET = os.environ["IDP_CLIENT_SECRET"]
USERS = json.loads(os.environ["IDP_USERS"])

_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_pub = _key.public_key().public_numbers()


def _b64(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


JWK = {"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256", "n": _b64(_pub.n), "e": _b64(_pub.e)}
_codes: dict[str, dict] = {}
_tokens: dict[str, dict] = {}
app = Flask(__name__)


@app.get("/.well-known/openid-configuration")
def discovery():
    return jsonify(
        issuer=ISSUER,
        authorization_endpoint=PUBLIC + "/authorize",
        token_endpoint=ISSUER + "/token",
        jwks_uri=ISSUER + "/jwks",
        userinfo_endpoint=ISSUER + "/userinfo",
        response_types_supported=["code"],
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=["RS256"],
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        scopes_supported=["openid", "email", "profile"],
    )


@app.get("/jwks")
def jwks():
    return jsonify(keys=[JWK])


@app.route("/authorize", methods=["GET", "POST"])
def authorize():
    args = request.values
    if args.get("client_id") != CLIENT_ID or args.get("response_type", "code") != "code":
        abort(400, "unknown client or response type")
    keep = {k: args.get(k, "") for k in ("client_id", "redirect_uri", "state", "nonce", "scope", "response_type")}
    error = ""
    if request.method == "POST":
        user = USERS.get(args.get("username", ""))
        if user and hmac.compare_digest(user["password"], args.get("password", "")):
            code = secrets.token_urlsafe(24)
            _codes[code] = {"user": args["username"], **keep, "at": time.time()}
            sep = "&" if "?" in keep["redirect_uri"] else "?"
            return redirect(keep["redirect_uri"] + sep + urllib.parse.urlencode({"code": code, "state": keep["state"]}))
        error = "<p id='error'>Wrong user name or password</p>"
    hidden = "".join(f"<input type='hidden' name='{k}' value='{html.escape(v, quote=True)}'>" for k, v in keep.items())
    return (
        "<!doctype html><title>Test IdP</title><h1>Test identity provider</h1>" + error
        + "<form method='post' action='/authorize'>" + hidden
        + "<input name='username' id='username'><input name='password' id='password' type='password'>"
        + "<button type='submit' id='sign-in'>Sign in</button></form>"
    )


def _client_ok() -> bool:
    auth = request.authorization
    if auth and auth.type == "basic":
        cid, secret = urllib.parse.unquote(auth.username or ""), urllib.parse.unquote(auth.password or "")
    else:
        cid, secret = request.form.get("client_id", ""), request.form.get("client_secret", "")
    return cid == CLIENT_ID and hmac.compare_digest(secret, CLIENT_SECRET)


@app.post("/token")
def token():
    if not _client_ok():
        return jsonify(error="invalid_client"), 401
    grant = _codes.pop(request.form.get("code", ""), None)
    if not grant or time.time() - grant["at"] > 120 or grant["redirect_uri"] != request.form.get("redirect_uri", ""):
        return jsonify(error="invalid_grant"), 400
    user = USERS[grant["user"]]
    now = int(time.time())
    claims = {
        "iss": ISSUER, "sub": grant["user"], "aud": CLIENT_ID, "iat": now, "exp": now + 300,
        "preferred_username": grant["user"], "email": user.get("email", ""), "groups": user.get("groups", []),
        "given_name": user.get("given_name", ""), "family_name": user.get("family_name", ""),
    }
    if grant["nonce"]:
        claims["nonce"] = grant["nonce"]
    access = secrets.token_urlsafe(24)
    _tokens[access] = claims
    id_token = jwt.encode(claims, _key, algorithm="RS256", headers={"kid": "k1"})
    return jsonify(access_token=access, token_type="Bearer", expires_in=300, id_token=id_token, scope=grant["scope"])


@app.get("/userinfo")
def userinfo():
    claims = _tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer ").strip())
    if not claims:
        return jsonify(error="invalid_token"), 401
    return jsonify({k: v for k, v in claims.items() if k not in ("iss", "aud", "iat", "exp", "nonce")})


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("IDP_PORT", "5000")), threaded=True)
