#!/bin/sh
# An S3-compatible server for tests: moto in server mode (in memory; a restart loses every bucket), any access key
# accepted. Meant for a test namespace only.
#   S3_SERVER_PORT     listening port (default 5000)
#   S3_SERVER_BUCKETS  buckets created at start, separated by spaces (default: none)
#   S3_IGNORE_SUBDOMAIN_BUCKETNAME  moto's: true (default here) serves path-style requests only. Otherwise moto takes the
#                      first label of a Host name that is no IP address for a bucket: a request to
#                      http://<service>.<namespace>.svc:5000/<bucket>/<key> would name the bucket "<service>".
# Any arguments are passed to moto_server.
set -eu
export S3_IGNORE_SUBDOMAIN_BUCKETNAME="${S3_IGNORE_SUBDOMAIN_BUCKETNAME:-true}"
port="${S3_SERVER_PORT:-5000}"
if [ -n "${S3_SERVER_BUCKETS:-}" ]; then
  (
    # Create the buckets once the server answers (moto keeps them in memory).
    i=0
    until /opt/moto/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; do
      i=$((i + 1)); [ "$i" -lt 300 ] || { echo "s3-server: no answer on $port" >&2; exit 1; }; sleep 0.2
    done
    for b in $S3_SERVER_BUCKETS; do
      /opt/moto/bin/python - "$port" "$b" <<'PY'
import sys, boto3
port, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id="s3-server", aws_secret_access_key="s3-server")
s3.create_bucket(Bucket=bucket)
print(f"s3-server: created bucket {bucket}", file=sys.stderr)
PY
    done
  ) &
fi
exec /opt/moto/bin/moto_server --host 0.0.0.0 --port "$port" "$@"
