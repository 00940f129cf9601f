"""Handler of the compat-test stack: records each event in a table; bodies with "poison" fail."""

import json
import os

import boto3


def handler(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["EFFECTS_TABLE_NAME"])
    failures = []
    for record in event["Records"]:
        body = json.loads(record["body"])
        if body.get("detail", {}).get("poison"):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        table.put_item(
            Item={"eventId": body["id"], "remaining": context.get_remaining_time_in_millis()}
        )
    return {"batchItemFailures": failures}
