"""A program that reads a secret the way the AWS Secrets Manager Agent's documentation shows, with the
standard library only: GET /secretsmanager/get?secretId=<id> on localhost, the SSRF token from its file in
the X-Aws-Parameters-Secrets-Token header, and json.loads on SecretString. The port comes from the Lambda
extension's variable (default 2773) and the token file from AWS_TOKEN_FILE (default /var/run/awssmatoken).
It prints the secret's name, version, username and accountId, never the password."""

import json
import os
import sys
import urllib.request


def get_secret(secret_id):
    port = os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773")
    url = f"http://localhost:{port}/secretsmanager/get?secretId={secret_id}"
    with open(os.environ.get("AWS_TOKEN_FILE", "/var/run/awssmatoken")) as fp:
        token = fp.read()
    request = urllib.request.Request(url, headers={"X-Aws-Parameters-Secrets-Token": token.strip()})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


secret = get_secret(sys.argv[1])
value = json.loads(secret["SecretString"])
print(json.dumps({
    "name": secret["Name"],
    "versionId": secret["VersionId"],
    "stages": secret["VersionStages"],
    "username": value["username"],
    "accountId": value.get("accountId"),
}))
