"""The warehouse's network: a VPC of private isolated subnets with an S3 gateway endpoint."""

from __future__ import annotations

from aws_cdk import Fn
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_app.config import PipelineConfig

# Redshift Serverless needs subnets in at least three Availability Zones.
# https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html
WAREHOUSE_AZ_COUNT = 3
REDSHIFT_PORT = 5439


class Network(Construct):
    """Private isolated subnets only (no NAT gateway, no internet gateway: nothing to pay for
    idle), an S3 gateway endpoint so COPY reaches the staging bucket with enhanced VPC routing,
    flow logs to the access-log bucket, and the warehouse's security group (no inbound rules:
    the loader reaches Redshift through the Data API, not through the VPC)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        flow_log_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)

        # Explicit zones from context, else the region's first three resolved at deploy time;
        # either way synth does no availability-zone lookup (no credentials needed). With
        # zone IDs the subnets are placed by ID below, so these names are only placeholders.
        zone_ids = list(config.availability_zone_ids)
        zones = list(config.availability_zones) or [
            Fn.select(index, Fn.get_azs())
            for index in range(len(zone_ids) or WAREHOUSE_AZ_COUNT)
        ]
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            availability_zones=zones,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="warehouse",
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=24,
                )
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
            flow_logs={
                "FlowLogs": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_s3(flow_log_bucket, "vpc-flow-logs/"),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
            # Restricting the default security group costs a custom-resource Lambda; nothing in
            # this VPC uses the default group (the warehouse has its own, below).
            restrict_default_security_group=False,
        )
        subnets = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnets
        # Zone IDs name the same zone in every account (names are shuffled per account), and
        # the Redshift docs list supported zones by ID: AWS::EC2::Subnet takes the ID itself.
        # https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html
        for subnet, zone_id in zip(subnets, zone_ids, strict=False):
            cfn = subnet.node.default_child
            assert isinstance(cfn, ec2.CfnSubnet)
            cfn.add_property_deletion_override("AvailabilityZone")
            cfn.add_property_override("AvailabilityZoneId", zone_id)
        self.subnet_ids = [subnet.subnet_id for subnet in subnets]

        self.warehouse_security_group = ec2.SecurityGroup(
            self,
            "WarehouseSecurityGroup",
            vpc=self.vpc,
            description="Redshift warehouse: reached through the Data API; TCP 5439 only from "
            "pipeline:analystCidrs",
            allow_all_outbound=True,
        )
        # Opt-in, for redshift-connector over a VPN / Direct Connect / peering route into the
        # VPC: the workgroup stays private (no public endpoint), only these ranges may connect.
        for cidr in config.analyst_cidrs:
            self.warehouse_security_group.add_ingress_rule(
                ec2.Peer.ipv4(cidr), ec2.Port.tcp(REDSHIFT_PORT), f"analysts from {cidr}"
            )
