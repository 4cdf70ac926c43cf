"""Signs requests with botocore, the independent SigV4 signer the conformance tests check the verifier against.

Reads {"requests": [...]} as JSON on stdin and prints {"signed": [...]} on stdout, one entry per request:
  in:  {"method", "url", "headers": [[name, value], ...] (repeats kept, in order), "body": str | null,
        "credentials": {"accessKeyId", "secretAccessKey", "sessionToken"?}, "region", "service",
        "form": "header" | "query", "expires"?: seconds (query form), "timestamp"?: "YYYYMMDDTHHMMSSZ"}
  out: {"url", "headers": [[name, value], ...]}: the URL to send (presigned for the query form) and every
        header to send, in order, Host first (botocore signs the URL's host; an HTTP client sends it).
"timestamp" replaces the clock, verbatim: botocore then signs whatever string it is given, which lets a test
produce a correctly signed request whose X-Amz-Date is not in the exact format. Nothing here is a secret of
the project: tests pass throwaway keys.
"""

import json
import sys
from datetime import datetime, timezone
from urllib.parse import urlsplit

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def add_auth_at(auth, request, timestamp):
    # botocore's add_auth, with the timestamp given instead of read from the clock.
    request.context["timestamp"] = timestamp
    auth._modify_request_before_signing(request)
    canonical_request = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical_request)
    auth._inject_signature_to_request(request, auth.signature(string_to_sign, request))


def sign(spec):
    creds = spec["credentials"]
    credentials = Credentials(creds["accessKeyId"], creds["secretAccessKey"], creds.get("sessionToken"))
    body = spec.get("body")
    request = AWSRequest(method=spec["method"], url=spec["url"], data=None if body is None else body.encode("utf-8"))
    for name, value in spec["headers"]:
        request.headers[name] = value  # HTTPHeaders appends: repeated names stay repeated, in order
    if spec["form"] == "query":
        auth = SigV4QueryAuth(credentials, spec["service"], spec["region"], expires=spec.get("expires", 3600))
    else:
        auth = SigV4Auth(credentials, spec["service"], spec["region"])
    timestamp = spec.get("timestamp") or datetime.now(timezone.utc).strftime(SIGV4_TIMESTAMP)
    add_auth_at(auth, request, timestamp)
    headers = [[name, value] for name, value in request.headers.items()]
    if not any(name.lower() == "host" for name, _ in headers):
        headers.insert(0, ["Host", urlsplit(request.url).netloc])
    return {"url": request.url, "headers": headers}


def main():
    specs = json.load(sys.stdin)["requests"]
    json.dump({"signed": [sign(s) for s in specs]}, sys.stdout)


if __name__ == "__main__":
    main()
