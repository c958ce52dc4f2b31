#!/usr/bin/env python3
"""cfn_requests.py: a CloudFormation template's CloudWatch resources as the API requests they make.

moto's CloudFormation does not create metric filters, alarms or query definitions, and the npm
cfn-lint's resource specification predates some of their properties, so neither checks them. This
tool does what CloudFormation's resource handlers do for the resource types our template uses:

    AWS::Logs::LogGroup          logs:CreateLogGroup (+ logs:PutRetentionPolicy)
    AWS::Logs::MetricFilter      logs:PutMetricFilter
    AWS::Logs::QueryDefinition   logs:PutQueryDefinition
    AWS::CloudWatch::Alarm       cloudwatch:PutMetricAlarm
    AWS::CloudWatch::Dashboard   cloudwatch:PutDashboard

after resolving the intrinsic functions the template uses (Ref to parameters, pseudo parameters and
resources; Fn::Sub in both forms; Fn::If with Fn::Equals / Fn::Not conditions; AWS::NoValue).
Property names map to API member names by the service model (PascalCase to the member whose name
matches case-insensitively), and scalar values are converted to the member's type (CloudFormation
passes Number parameters as strings). Every request is then checked with botocore's own parameter
validation against the service model (unknown members, missing required ones, types, ranges).

    cfn_requests.py TEMPLATE [-p KEY=VALUE]... [--endpoint URL]

prints one JSON line per request; with --endpoint it also sends them (credentials from the
environment) and reads each resource back (DescribeMetricFilters, DescribeAlarms, GetDashboard,
DescribeLogGroups), comparing what comes back with what was sent. With --moto, operations moto
does not implement (it has no PutQueryDefinition) are reported and only validated. Exit 1 on any
failure.
"""
import argparse
import json
import re
import sys

import botocore.session
import yaml
from botocore.validate import ParamValidator

HANDLERS = {
    "AWS::Logs::LogGroup": ("logs", "CreateLogGroup"),
    "AWS::Logs::MetricFilter": ("logs", "PutMetricFilter"),
    "AWS::Logs::QueryDefinition": ("logs", "PutQueryDefinition"),
    "AWS::CloudWatch::Alarm": ("cloudwatch", "PutMetricAlarm"),
    "AWS::CloudWatch::Dashboard": ("cloudwatch", "PutDashboard"),
}
NO_VALUE = object()


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else "Fn::" + suffix
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}


CfnLoader.add_multi_constructor("!", _tag)


class Resolver:
    def __init__(self, tpl, params, region, account, stack):
        self.tpl = tpl
        self.vars = {"AWS::Region": region, "AWS::AccountId": account, "AWS::StackName": stack,
                     "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
        for name, p in tpl.get("Parameters", {}).items():
            v = params.get(name, p.get("Default"))
            if v is None:
                raise ValueError(f"parameter {name} has no value")
            if "AllowedValues" in p and str(v) not in [str(a) for a in p["AllowedValues"]]:
                raise ValueError(f"parameter {name}={v} not allowed")
            self.vars[name] = str(v)
        self.conds = {}
        for name, c in tpl.get("Conditions", {}).items():
            self.conds[name] = self.cond(c)
        # A Ref to a resource gives its physical id; for the types we handle, its name.
        for lid, r in tpl.get("Resources", {}).items():
            if r["Type"] == "AWS::Logs::LogGroup":
                self.vars[lid] = self.value(r["Properties"]["LogGroupName"])

    def cond(self, c):
        if isinstance(c, dict) and len(c) == 1:
            (k, v), = c.items()
            if k == "Fn::Equals":
                return str(self.value(v[0])) == str(self.value(v[1]))
            if k == "Fn::Not":
                return not self.cond(v[0])
            if k == "Fn::And":
                return all(self.cond(x) for x in v)
            if k == "Fn::Or":
                return any(self.cond(x) for x in v)
            if k == "Condition":
                return self.conds[v]
        raise ValueError(f"unsupported condition {c!r}")

    def sub(self, text, extra):
        def one(m):
            key = m.group(1)
            if key.startswith("!"):
                return "${" + key[1:] + "}"
            if key in extra:
                return str(extra[key])
            if key not in self.vars:
                raise ValueError(f"Fn::Sub: unknown variable {key}")
            return self.vars[key]
        return re.sub(r"\$\{([^}]+)\}", one, text)

    def value(self, v):
        if isinstance(v, list):
            return [x for x in (self.value(i) for i in v) if x is not NO_VALUE]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            (k, a), = v.items()
            if k == "Ref":
                if a == "AWS::NoValue":
                    return NO_VALUE
                if a not in self.vars:
                    raise ValueError(f"Ref to unknown {a}")
                return self.vars[a]
            if k == "Fn::Sub":
                if isinstance(a, str):
                    return self.sub(a, {})
                return self.sub(a[0], {n: self.value(x) for n, x in a[1].items()})
            if k == "Fn::If":
                return self.value(a[1] if self.conds[a[0]] else a[2])
            if k.startswith("Fn::"):
                raise ValueError(f"unsupported intrinsic {k}")
        out = {}
        for k, x in v.items():
            x = self.value(x)
            if x is not NO_VALUE:
                out[k] = x
        return out


def to_shape(value, shape, where):
    """CloudFormation property value -> API value of this botocore shape."""
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            return value
        out = {}
        members = {m.lower(): m for m in shape.members}
        for k, v in value.items():
            m = members.get(k.lower())
            if m is None:  # unknown: kept as is, so validation reports it
                out[k] = v
            else:
                out[m] = to_shape(v, shape.members[m], f"{where}.{m}")
        return out
    if t == "list":
        return [to_shape(v, shape.member, f"{where}[]") for v in value] if isinstance(value, list) else value
    if t in ("integer", "long") and isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    if t in ("double", "float") and isinstance(value, (str, int)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            return value
    if t == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def requests_of(tpl, resolver, session):
    out = []
    for lid, r in tpl["Resources"].items():
        if r.get("Condition") and not resolver.conds[r["Condition"]]:
            continue
        if r["Type"] not in HANDLERS:
            raise ValueError(f"{lid}: resource type {r['Type']} not handled")
        service, op = HANDLERS[r["Type"]]
        model = session.get_service_model(service).operation_model(op)
        props = resolver.value(r.get("Properties", {}))
        extra = None
        if r["Type"] == "AWS::Logs::LogGroup" and "RetentionInDays" in props:
            extra = ("logs", "PutRetentionPolicy",
                     {"logGroupName": props["LogGroupName"], "retentionInDays": int(props.pop("RetentionInDays"))})
        params = to_shape(props, model.input_shape, lid)
        out.append((lid, r["Type"], service, op, params))
        if extra:
            out.append((lid, r["Type"]) + extra)
    return out


def validate(session, service, op, params):
    shape = session.get_service_model(service).operation_model(op).input_shape
    report = ParamValidator().validate(params, shape)
    return report.generate_report() if report.has_errors() else ""


def read_back(clients, rtype, params):
    """What the endpoint holds for the resource, compared with what was sent: a list of problems."""
    logs, cw = clients["logs"], clients["cloudwatch"]
    bad = []
    if rtype == "AWS::Logs::MetricFilter":
        got = [f for f in logs.describe_metric_filters(logGroupName=params["logGroupName"])["metricFilters"]
               if f["filterName"] == params["filterName"]]
        if len(got) != 1:
            return [f"{params['filterName']}: not found"]
        g = got[0]
        if g["filterPattern"] != params["filterPattern"]:
            bad.append("filterPattern differs")
        for k, v in params["metricTransformations"][0].items():
            if g["metricTransformations"][0].get(k) != v:
                bad.append(f"metricTransformations.{k}: sent {v!r}, got {g['metricTransformations'][0].get(k)!r}")
    elif rtype == "AWS::CloudWatch::Alarm":
        got = cw.describe_alarms(AlarmNames=[params["AlarmName"]])["MetricAlarms"]
        if len(got) != 1:
            return [f"{params['AlarmName']}: not found"]
        for k, v in params.items():
            if got[0].get(k) != v:
                bad.append(f"{params['AlarmName']}.{k}: sent {v!r}, got {got[0].get(k)!r}")
    elif rtype == "AWS::CloudWatch::Dashboard":
        body = cw.get_dashboard(DashboardName=params["DashboardName"])["DashboardBody"]
        if json.loads(body) != json.loads(params["DashboardBody"]):
            bad.append("dashboard body differs")
    elif rtype == "AWS::Logs::LogGroup":
        got = [g for g in logs.describe_log_groups(logGroupNamePrefix=params["logGroupName"])["logGroups"]
               if g["logGroupName"] == params["logGroupName"]]
        if len(got) != 1:
            bad.append(f"{params['logGroupName']}: not found")
        elif "retentionInDays" in params and got[0].get("retentionInDays") != params["retentionInDays"]:
            bad.append("retention differs")
    return bad


def moto_implements(service, op):
    """Whether moto's server answers this operation (its response class has the handler)."""
    if service == "logs":
        from moto.logs.responses import LogsResponse as R
    else:
        from moto.cloudwatch.responses import CloudWatchResponse as R
    return hasattr(R, botocore.xform_name(op))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("template")
    ap.add_argument("-p", "--param", action="append", default=[])
    ap.add_argument("--endpoint")
    ap.add_argument("--moto", action="store_true",
                    help="the endpoint is moto_server: send only the operations moto implements")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--stack", default="hsm-audit")
    a = ap.parse_args()
    params = dict(p.split("=", 1) for p in a.param)
    tpl = yaml.load(open(a.template), Loader=CfnLoader)
    session = botocore.session.get_session()
    resolver = Resolver(tpl, params, a.region, "123456789012", a.stack)
    reqs = requests_of(tpl, resolver, session)
    fails = 0
    clients = {}
    if a.endpoint:
        import boto3
        clients = {s: boto3.client(s, endpoint_url=a.endpoint, region_name=a.region) for s in ("logs", "cloudwatch")}
    counts = {}
    for lid, rtype, service, op, p in reqs:
        err = validate(session, service, op, p)
        status = "valid"
        if err:
            print(f"FAIL: {lid}: {service}:{op} does not validate:\n{err}")
            fails += 1
            continue
        if a.endpoint and a.moto and not moto_implements(service, op):
            status = "valid (not implemented by moto)"
        elif a.endpoint:
            method = getattr(clients[service], botocore.xform_name(op))
            try:
                method(**p)
                status = "applied"
            except clients[service].exceptions.ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                print(f"FAIL: {lid}: {service}:{op} refused ({code}): {e}")
                fails += 1
                continue
        print(json.dumps({"resource": lid, "operation": f"{service}:{op}", "status": status, "params": p},
                         sort_keys=True))
        counts[status] = counts.get(status, 0) + 1
    if a.endpoint:
        for lid, rtype, service, op, p in reqs:
            if op == "PutRetentionPolicy" or (a.moto and not moto_implements(service, op)):
                continue
            for problem in read_back(clients, rtype, p):
                print(f"FAIL: {lid}: read back: {problem}")
                fails += 1
    print(f"cfn_requests: {len(reqs)} requests: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
          + f"; {fails} failed", file=sys.stderr)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
