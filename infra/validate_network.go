package main

// Every network rule, wherever the value came from: an "environments" entry of the context
// names a complete path to the database (checkNetwork), an Environment's network has a
// consistent shape (networkProblems), and a database CIDR is the database's, not a slice
// of the internet (checkDatabaseCIDR).

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

var (
	vpcIDPattern    = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetIDPattern = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	sgIDPattern     = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	azPattern       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}[a-z]$`)
)

// minDatabasePrefix keeps databaseCidr to the database's own address or a
// provider's small range, never a slice of the internet.
const minDatabasePrefix = 16

// checkNetwork: a context entry reaches its database either by databaseCidr from a new VPC,
// or from an existing VPC through databaseSecurityGroupId, with ids that can exist.
func (e EnvironmentContext) checkNetwork(key string) error {
	if e.VpcID == "" {
		if e.DatabaseCIDR == "" {
			return fmt.Errorf("context %s needs databaseCidr (a new VPC) or vpcId with subnetIds, availabilityZones and databaseSecurityGroupId", key)
		}
		return nil
	}
	switch {
	case !vpcIDPattern.MatchString(e.VpcID):
		return fmt.Errorf("context %s.vpcId %q is not a VPC id like vpc-0a1b2c3d4e5f60718", key, e.VpcID)
	case e.DatabaseSecurityGroupID == "":
		return fmt.Errorf("context %s.databaseSecurityGroupId is needed with vpcId: the task reaches the database through it", key)
	case !sgIDPattern.MatchString(e.DatabaseSecurityGroupID):
		return fmt.Errorf("context %s.databaseSecurityGroupId %q is not a security group id like sg-0123456789abcdef0", key, e.DatabaseSecurityGroupID)
	case e.DatabaseCIDR != "":
		return fmt.Errorf("context %s gives both vpcId and databaseCidr; in an existing VPC the database is reached through databaseSecurityGroupId", key)
	}
	for _, s := range e.SubnetIDs {
		if !subnetIDPattern.MatchString(s) {
			return fmt.Errorf("context %s.subnetIds has %q, not a subnet id like subnet-0a1b2c3d4e5f60718", key, s)
		}
	}
	for _, z := range e.AvailabilityZones {
		if !azPattern.MatchString(z) || !strings.HasPrefix(z, e.Region) {
			return fmt.Errorf("context %s.availabilityZones has %q, not a zone of %s", key, z, e.Region)
		}
	}
	return nil
}

func (e Environment) networkProblems() []string {
	var p []string
	n := e.Network
	if port := n.DatabasePort; port < 1 || port > 65535 {
		p = append(p, fmt.Sprintf("database port %d is out of range", port))
	}
	if n.VpcID == "" {
		if len(n.SubnetIDs) > 0 || n.DatabaseSecurityGroupID != "" || len(n.AvailabilityZones) > 0 {
			p = append(p, "network: subnets, availability zones or a database security group need the VPC id too")
		}
		if e.Spot {
			p = append(p, spotNeedsPrivateSubnets)
		}
		return p
	}
	if len(n.SubnetIDs) == 0 || len(n.AvailabilityZones) == 0 {
		p = append(p, "network: an existing VPC needs its private subnet ids and availability zones")
	} else if len(n.SubnetIDs)%len(n.AvailabilityZones) != 0 {
		p = append(p, fmt.Sprintf("network: %d subnets cannot be spread evenly over %d availability zones",
			len(n.SubnetIDs), len(n.AvailabilityZones)))
	}
	return p
}

// spotNeedsPrivateSubnets: EventBridge Scheduler's AwsVpcConfiguration says of
// AssignPublicIp "You can specify ENABLED only when LaunchType in
// EcsParameters is set to FARGATE", and a Spot run names a capacity provider
// instead of a launch type. Without a public IP, a task in the new VPC's
// public subnets (no NAT gateway) reaches neither ECR, SSM nor CloudWatch Logs.
var spotNeedsPrivateSubnets = strings.Join([]string{
	"Spot needs an existing VPC: a Spot run cannot get a public IP, and without one the task cannot reach ECR,",
	"SSM or CloudWatch Logs from the new VPC's public subnets; give the VPC id and private subnets with a route",
	"(a NAT gateway or VPC endpoints), or turn Spot off",
}, " ")

// checkDatabaseCIDR: the task's only PostgreSQL egress in a new VPC is this range.
func (e Environment) checkDatabaseCIDR() error {
	cidr := e.Network.DatabaseCIDR
	if cidr == "" {
		return nil
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return fmt.Errorf("environment %q: databaseCidr %q is not an IPv4 CIDR like 52.95.110.7/32", e.Name, cidr)
	}
	if p.Bits() < minDatabasePrefix {
		return fmt.Errorf("environment %q: databaseCidr %q is wider than /%d; name the database's own address, e.g. 52.95.110.7/32", e.Name, cidr, minDatabasePrefix)
	}
	if p.Masked() != p {
		return fmt.Errorf("environment %q: databaseCidr %q has host bits set; write %s", e.Name, cidr, p.Masked())
	}
	return nil
}
