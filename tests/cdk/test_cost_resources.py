"""`pipeline cost` bills what the template deploys: read from the synthesized templates."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest

from pipeline.analysis import cost

from .conftest import Synth

pytestmark = pytest.mark.cdk

# Resource types that cost nothing by themselves, or whose charges are usage too small to
# model (each with why). A type in no list fails the test: classify it when it is added.
FREE_OR_NEGLIGIBLE = {
    "AWS::IAM::Role": "free", "AWS::IAM::Policy": "free",
    "AWS::Lambda::Permission": "free", "AWS::Lambda::EventInvokeConfig": "free",
    "AWS::Events::Rule": "scheduled rules are free",
    "AWS::EC2::VPC": "free", "AWS::EC2::Subnet": "free", "AWS::EC2::RouteTable": "free",
    "AWS::EC2::SubnetRouteTableAssociation": "free", "AWS::EC2::SecurityGroup": "free",
    "AWS::EC2::VPCEndpoint": "an S3 gateway endpoint is free",
    "AWS::EC2::FlowLog": "vended-log delivery to S3, cents at this traffic",
    "AWS::Logs::LogGroup": "ingestion and storage of a few MB a day, cents",
    "AWS::S3::BucketPolicy": "free", "AWS::SQS::QueuePolicy": "free",
    "AWS::SNS::Topic": "a few alarm notifications, inside SNS's free tier",
    "AWS::SNS::TopicPolicy": "free",
    "AWS::RedshiftServerless::Namespace": "billed as the workgroup's compute and storage",
    "AWS::Redshift::ClusterSubnetGroup": "free", "AWS::Redshift::ClusterParameterGroup": "free",
    "Custom::DatabaseSetup": "one Lambda invocation per deploy",
    "Custom::RedshiftServerlessUsageLimit": "one Lambda invocation per deploy",
}


def fixed_counts(cfn: dict[str, Any]) -> dict[str, int]:
    kinds = Counter(r["Type"] for r in cfn["Resources"].values())
    return {kind: kinds[kind] for kind in cost.FIXED_PRICES}


def unclassified(cfn: dict[str, Any]) -> set[str]:
    kinds = {r["Type"] for r in cfn["Resources"].values()}
    return kinds - set(cost.FIXED_PRICES) - cost.MODELLED - set(FREE_OR_NEGLIGIBLE)


def test_the_cost_model_counts_every_fixed_charge_of_the_template(any_mode: Synth) -> None:
    assert fixed_counts(any_mode.cfn) == cost.FIXED_COUNTS[any_mode.config.warehouse_mode]


def test_every_resource_type_of_the_template_is_priced_modelled_or_free(any_mode: Synth) -> None:
    assert unclassified(any_mode.cfn) == set()


def test_a_billed_resource_the_model_misses_is_caught(serverless: Synth) -> None:
    planted = copy.deepcopy(serverless.cfn)
    planted["Resources"]["ThirdSecret"] = {"Type": "AWS::SecretsManager::Secret"}
    planted["Resources"]["Nat"] = {"Type": "AWS::EC2::NatGateway"}
    assert fixed_counts(planted) != cost.FIXED_COUNTS["serverless"]
    assert unclassified(planted) == {"AWS::EC2::NatGateway"}


def test_the_fixed_charges_are_both_secrets_every_alarm_and_the_dashboard() -> None:
    prices = cost.load_prices()
    assert cost.fixed_usd("serverless", prices) == pytest.approx(2 * 0.40 + 5 * 0.10 + 3.00)
    assert cost.fixed_usd("provisioned", prices) == pytest.approx(2 * 0.40 + 4 * 0.10 + 3.00)
