#!/usr/bin/env python3
"""moto_setup.py: prepares a running moto_server (IAM auth not yet enforced) for our tests.

Creates IAM users in moto's default account, each with an access key and one managed policy:
- haf-writer: logs:CreateLogGroup, CreateLogStream, PutLogEvents, PutRetentionPolicy,
  DescribeLogStreams, GetLogEvents (exactly what the forwarder needs, nothing else);
- haf-denied: the same minus logs:PutLogEvents (for AccessDenied tests);
- haf-reader: what `report` and `verify` read with: logs:FilterLogEvents, GetLogEvents,
  DescribeLogStreams, DescribeLogGroups (nothing that writes);
- haf-admin: logs:*, cloudwatch:* and kms:CreateAlias (tests that play the operator:
  filter-log-events, metric filters, alarms, dashboards, the digest key's alias), exported as HAF_ADMIN_KEY_ID / HAF_ADMIN_SECRET.
Prints shell `export` lines (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for the writer,
HAF_DENIED_KEY_ID / HAF_DENIED_SECRET for the restricted user, HAF_READER_KEY_ID /
HAF_READER_SECRET for the reader, AWS_REGION) on stdout, nothing else.
Also creates two asymmetric KMS signing keys for the digest tests (HAF_KMS_ECC_KEY: ECC_NIST_P256,
HAF_KMS_RSA_KEY: RSA_2048); the writer may kms:Sign and kms:GetPublicKey with them, the reader
(an auditor running `verify --kms-key-id`) kms:GetPublicKey. HAF_TAMPER_KEY_ID /
HAF_TAMPER_SECRET may do logs:* (delete and re-create streams: the tamper cases).

Usage: moto_setup.py MOTO_URL [REGION]. The calls are made with throwaway credentials because auth
is off while they run; moto.sh turns it on afterwards.
"""
import json
import shlex
import sys

import boto3

WRITER_ACTIONS = [
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:PutRetentionPolicy",
    "logs:DescribeLogStreams",
    "logs:GetLogEvents",
    "kms:Sign",
    "kms:GetPublicKey",
]

READER_ACTIONS = [
    "logs:FilterLogEvents",
    "logs:GetLogEvents",
    "logs:DescribeLogStreams",
    "logs:DescribeLogGroups",
    "kms:GetPublicKey",
]


def make_user(iam, name, actions):
    iam.create_user(UserName=name)
    policy = iam.create_policy(
        PolicyName=name + "-logs",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            }
        ),
    )
    iam.attach_user_policy(UserName=name, PolicyArn=policy["Policy"]["Arn"])
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def main():
    if len(sys.argv) < 2:
        print("usage: moto_setup.py MOTO_URL [REGION]", file=sys.stderr)
        return 2
    url = sys.argv[1]
    region = sys.argv[2] if len(sys.argv) > 2 else "us-east-1"
    iam = boto3.client(
        "iam",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="AKIASETUPSETUPSETUP0",
        aws_secret_access_key="setup-only",
    )
    writer = make_user(iam, "haf-writer", WRITER_ACTIONS)
    denied = make_user(
        iam, "haf-denied", [a for a in WRITER_ACTIONS if a != "logs:PutLogEvents"]
    )
    # moto authorises CloudWatch calls under its endpoint prefix "monitoring", AWS under
    # "cloudwatch": both are granted.
    admin = make_user(
        iam, "haf-admin", ["logs:*", "cloudwatch:*", "monitoring:*", "kms:CreateAlias"]
    )
    reader = make_user(iam, "haf-reader", READER_ACTIONS)
    # An identity that may rewrite history (logs:*): the attacker of the digest tamper tests.
    tamper = make_user(iam, "haf-tamper", ["logs:*"])
    kms = boto3.client(
        "kms",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="AKIASETUPSETUPSETUP0",
        aws_secret_access_key="setup-only",
    )
    ecc = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    out = {
        "AWS_ACCESS_KEY_ID": writer[0],
        "AWS_SECRET_ACCESS_KEY": writer[1],
        "HAF_DENIED_KEY_ID": denied[0],
        "HAF_DENIED_SECRET": denied[1],
        "HAF_READER_KEY_ID": reader[0],
        "HAF_READER_SECRET": reader[1],
        "HAF_ADMIN_KEY_ID": admin[0],
        "HAF_ADMIN_SECRET": admin[1],
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "HAF_TAMPER_KEY_ID": tamper[0],
        "HAF_TAMPER_SECRET": tamper[1],
        "HAF_KMS_ECC_KEY": ecc["KeyId"],
        "HAF_KMS_RSA_KEY": rsa["KeyId"],
    }
    for k, v in out.items():
        print(f"export {k}={shlex.quote(v)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
