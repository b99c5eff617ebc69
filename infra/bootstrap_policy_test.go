package main

// The scoped CloudFormation execution policy for `cdk bootstrap`
// (bootstrap-execution-policy.json) against the actions CloudFormation's
// resource handlers call for each type the stacks use (handler-permissions.json,
// vendored from the registry schemas by scripts/refresh-handler-permissions.sh).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"
)

type policyStatement struct {
	Sid       string
	Effect    string
	Action    any
	Resource  any
	Condition map[string]any
}

type policyDocument struct {
	Version   string
	Statement []policyStatement
}

func readBootstrapPolicy(t *testing.T) (policyDocument, []byte) {
	t.Helper()
	b, err := os.ReadFile("bootstrap-execution-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc policyDocument
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("bootstrap-execution-policy.json: %v", err)
	}
	return doc, b
}

// stringsOf is a policy element that may be one string or a list of them.
func stringsOf(v any) []string {
	var out []string
	for _, e := range arr(v) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// iamMatch is IAM's wildcard match: * any run, ? one character; actions are case-insensitive.
func iamMatch(pattern, s string) bool {
	ok, err := path.Match(strings.ToLower(strings.ReplaceAll(pattern, "/", "\x00")), strings.ToLower(strings.ReplaceAll(s, "/", "\x00")))
	return err == nil && ok
}

func matchesAny(patterns []string, s string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return iamMatch(p, s) })
}

// allows reports whether the policy lets action act on resource ("" for any resource an Allow
// names), conditions aside: an explicit Deny wins, as in IAM.
func (p policyDocument) allows(action, resource string) bool {
	allowed := false
	for _, st := range p.Statement {
		if !matchesAny(stringsOf(st.Action), action) || (resource != "" && !matchesAny(stringsOf(st.Resource), resource)) {
			continue
		}
		if st.Effect == "Deny" && (resource != "" || slices.Contains(stringsOf(st.Resource), "*")) {
			return false
		}
		if st.Effect == "Deny" {
			continue
		}
		allowed = true
	}
	return allowed
}

type handlerLists struct {
	Retrieved string
	Sources   []string
	Types     map[string]map[string]any // type -> handler -> actions, and "schema"
}

func readHandlerPermissions(t *testing.T) handlerLists {
	t.Helper()
	b, err := os.ReadFile("handler-permissions.json")
	if err != nil {
		t.Fatal(err)
	}
	var h handlerLists
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("handler-permissions.json: %v", err)
	}
	if h.Retrieved == "" || len(h.Sources) == 0 {
		t.Fatal("handler-permissions.json does not say where and when its lists came from")
	}
	return h
}

// deployHandlers are the handlers a deploy, an update, a rollback and a delete run. The list
// handler serves only `cloudformation list-resources` and drift detection.
var deployHandlers = []string{"create", "read", "update", "delete"}

func readOnly(action string) bool {
	_, verb, _ := strings.Cut(action, ":")
	return strings.HasPrefix(verb, "Describe") || strings.HasPrefix(verb, "Get") || strings.HasPrefix(verb, "List")
}

// notGranted are the mutating actions of the deploy handlers the policy leaves out because they act
// only on properties or attachments the stacks do not use; granting them would widen the role
// for nothing. property, when set, is the resource property that would call for the action:
// the test fails as soon as a stack sets it ("Name!=value": sets it to anything but value).
var notGranted = map[string]struct{ property, reason string }{
	"AWS::EC2::FlowLog s3:PutBucketPolicy":                {"", "the flow log writes to CloudWatch Logs, never to an S3 bucket"},
	"AWS::EC2::Subnet ec2:AssociateSubnetCidrBlock":       {"Ipv6CidrBlock", "the subnets have no IPv6 block"},
	"AWS::EC2::Subnet ec2:DisassociateSubnetCidrBlock":    {"Ipv6CidrBlock", "the subnets have no IPv6 block"},
	"AWS::EC2::VPC ec2:CreateVpcEncryptionControl":        {"VpcEncryptionControl", "no VPC encryption control is configured"},
	"AWS::EC2::VPC ec2:ModifyVpcTenancy":                  {"InstanceTenancy!=default", "the VPC keeps the default tenancy"},
	"AWS::EC2::VPCGatewayAttachment ec2:AttachVpnGateway": {"VpnGatewayId", "the attachment is of an internet gateway, never a VPN gateway"},
	"AWS::EC2::VPCGatewayAttachment ec2:DetachVpnGateway": {"VpnGatewayId", "the attachment is of an internet gateway, never a VPN gateway"},
	"AWS::ECS::Cluster ecs:PutAccountSetting":             {"", "account-wide ECS settings: the cluster sets none, and a template could change every cluster's"},
	"AWS::ECS::Cluster ecs:PutAccountSettingDefault":      {"", "account-wide ECS settings: the cluster sets none, and a template could change every cluster's"},
	"AWS::IAM::Policy iam:PutUserPolicy":                  {"Users", "the stacks' policies attach to their roles only"},
	"AWS::IAM::Policy iam:DeleteUserPolicy":               {"Users", "the stacks' policies attach to their roles only"},
	"AWS::IAM::Policy iam:PutGroupPolicy":                 {"Groups", "the stacks' policies attach to their roles only"},
	"AWS::IAM::Policy iam:DeleteGroupPolicy":              {"Groups", "the stacks' policies attach to their roles only"},
	"AWS::IAM::Role iam:AttachRolePolicy":                 {"ManagedPolicyArns", "every role's policy is inline; a template could otherwise attach AdministratorAccess"},
	"AWS::IAM::Role iam:DetachRolePolicy":                 {"ManagedPolicyArns", "every role's policy is inline; nothing to detach"},
	"AWS::IAM::Role iam:PutRolePermissionsBoundary":       {"PermissionsBoundary", "no role has a permissions boundary"},
	"AWS::IAM::Role iam:DeleteRolePermissionsBoundary":    {"PermissionsBoundary", "no role has a permissions boundary, and removing one must never be possible"},
	"AWS::Logs::LogGroup logs:PutDataProtectionPolicy":    {"DataProtectionPolicy", "no log group has a data protection policy"},
	"AWS::Logs::LogGroup logs:AssociateKmsKey":            {"KmsKeyId", "the log groups use CloudWatch Logs' own encryption"},
	"AWS::Logs::LogGroup logs:DisassociateKmsKey":         {"KmsKeyId", "the log groups use CloudWatch Logs' own encryption"},
	"AWS::Logs::LogGroup firehose:TagDeliveryStream":      {"", "no log group delivers to Firehose"},
	"AWS::Logs::LogGroup s3:REST.PUT.OBJECT":              {"", "no log group delivers to S3 (and this is no IAM action)"},
	"AWS::SNS::Topic sns:PutDataProtectionPolicy":         {"DataProtectionPolicy", "the topic has no data protection policy"},
}

// policyGaps lists what the policy lacks for the resources (logical id -> resource) and what it
// grants that no deploy handler of their types calls.
func policyGaps(doc policyDocument, h handlerLists, resources map[string]map[string]any) []string {
	var gaps []string
	calls := map[string]bool{} // actions of the deploy handlers of the types used
	for _, typ := range typesOf(resources) {
		lists, ok := h.Types[typ]
		if !ok {
			gaps = append(gaps, fmt.Sprintf("%s: not in handler-permissions.json; run TYPES=%s scripts/refresh-handler-permissions.sh", typ, typ))
			continue
		}
		for _, handler := range deployHandlers {
			for _, a := range stringsOf(lists[handler]) {
				calls[a] = true
				ex, excluded := notGranted[typ+" "+a]
				switch {
				case excluded && readOnly(a):
					gaps = append(gaps, fmt.Sprintf("%s %s: read-only actions are never left out", typ, a))
				case excluded && doc.allows(a, ""):
					gaps = append(gaps, fmt.Sprintf("%s %s: granted, though left out because %s", typ, a, ex.reason))
				case excluded:
					gaps = append(gaps, propertyUsed(resources, typ, a, ex.property)...)
				case !doc.allows(a, ""):
					gaps = append(gaps, fmt.Sprintf("%s %s handler calls %s, which the policy does not allow", typ, handler, a))
				}
			}
		}
	}
	for _, st := range doc.Statement {
		for _, a := range stringsOf(st.Action) {
			if st.Effect == "Allow" && !readOnly(a) && !calls[a] && a != "ssm:GetParameters" {
				gaps = append(gaps, fmt.Sprintf("statement %s allows %s, which no deploy handler of the stacks' types calls", st.Sid, a))
			}
		}
	}
	sort.Strings(gaps)
	return slices.Compact(gaps)
}

func propertyUsed(resources map[string]map[string]any, typ, action, property string) []string {
	var out []string
	property, unless, _ := strings.Cut(property, "!=")
	for id, r := range resources {
		if v := props(r)[property]; r["Type"] == typ && property != "" && v != nil && (unless == "" || v != unless) {
			out = append(out, fmt.Sprintf("%s sets %s, so %s needs %s", id, property, typ, action))
		}
	}
	return out
}

func typesOf(resources map[string]map[string]any) []string {
	var out []string
	for _, r := range resources {
		if typ, _ := r["Type"].(string); !slices.Contains(out, typ) {
			out = append(out, typ)
		}
	}
	sort.Strings(out)
	return out
}

// executionRoleResources is every resource the CloudFormation execution role creates: those of
// the environment stacks. The GitHub trust stacks are deployed with the administrator's own
// credentials (CliCredentialsStackSynthesizer), so the role never touches them.
func executionRoleResources(t *testing.T) (deployed, all map[string]map[string]any) {
	deployed, all = map[string]map[string]any{}, map[string]map[string]any{}
	for name, s := range allStacks(t) {
		for id, r := range s.res {
			all[name+"/"+id] = r
			if !strings.Contains(name, "/github-") {
				deployed[name+"/"+id] = r
			}
		}
	}
	return deployed, all
}

func TestBootstrapPolicyCoversTheResourceHandlers(t *testing.T) {
	doc, _ := readBootstrapPolicy(t)
	h := readHandlerPermissions(t)
	deployed, all := executionRoleResources(t)
	for _, gap := range policyGaps(doc, h, deployed) {
		t.Error(gap)
	}
	// Every type of every stack, the GitHub trust stacks' too, has its lists vendored.
	for _, typ := range typesOf(all) {
		if _, ok := h.Types[typ]; !ok {
			t.Errorf("%s is used but not in handler-permissions.json; run TYPES=%s scripts/refresh-handler-permissions.sh", typ, typ)
		}
	}
	// Every exclusion is of a type and action still in use.
	used := typesOf(deployed)
	for key := range notGranted {
		typ, action, _ := strings.Cut(key, " ")
		calledBy := slices.ContainsFunc(deployHandlers, func(hd string) bool { return slices.Contains(stringsOf(h.Types[typ][hd]), action) })
		if !slices.Contains(used, typ) || !calledBy {
			t.Errorf("notGranted names %s, which no deploy handler of a used type calls any more; remove it", key)
		}
	}
	t.Logf("%d resource types, handler lists retrieved %s", len(used), h.Retrieved)
}

func TestBootstrapPolicyShape(t *testing.T) {
	doc, raw := readBootstrapPolicy(t)
	// IAM's limit for a managed policy, whitespace not counted.
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	if n := compact.Len(); n > 6144 {
		t.Errorf("the policy is %d characters; a managed policy holds 6,144", n)
	}
	t.Logf("policy: %d characters", compact.Len())
	for _, st := range doc.Statement {
		if st.Sid == "" || (st.Effect != "Allow" && st.Effect != "Deny") {
			t.Errorf("statement %q: want a named Allow or Deny", st.Sid)
		}
		for _, a := range stringsOf(st.Action) {
			// Wildcards only for reading configuration; logs:Get* would read the log events.
			if strings.Contains(a, "*") && st.Effect == "Allow" && (!readOnly(a) || strings.HasPrefix(a, "logs:Get")) {
				t.Errorf("statement %s allows the wildcard %s; only Describe*, Get* and List* (not logs:Get*) may be wildcards", st.Sid, a)
			}
			if strings.HasPrefix(a, "iam:") && st.Effect == "Allow" && slices.Contains(stringsOf(st.Resource), "*") {
				t.Errorf("statement %s allows IAM on every resource", st.Sid)
			}
			if (a == "iam:PassRole" || a == "iam:CreateServiceLinkedRole") && st.Condition == nil {
				t.Errorf("statement %s allows %s without a condition on the service", st.Sid, a)
			}
		}
	}
}

// TestPolicyGapsCatchesWhatAHandlerNeeds feeds the check a policy with a handler's read-only
// action missing, an excluded action granted, an action no handler calls, an excluded
// property in use and a type with no vendored lists.
func TestPolicyGapsCatchesWhatAHandlerNeeds(t *testing.T) {
	h := handlerLists{Types: map[string]map[string]any{
		"AWS::ECS::ClusterCapacityProviderAssociations": {"create": []any{"ecs:DescribeClusters", "ecs:PutClusterCapacityProviders", "ecs:DescribeCapacityProviders"}},
		"AWS::IAM::Role": {"create": []any{"iam:CreateRole", "iam:AttachRolePolicy"}},
	}}
	doc := policyDocument{Statement: []policyStatement{
		{Sid: "A", Effect: "Allow", Action: []any{"ecs:DescribeClusters", "ecs:PutClusterCapacityProviders", "iam:CreateRole", "iam:AttachRolePolicy", "ecs:DeleteTaskDefinitions"}, Resource: "*"},
	}}
	resources := map[string]map[string]any{
		"Assoc": {"Type": "AWS::ECS::ClusterCapacityProviderAssociations"},
		"Role":  {"Type": "AWS::IAM::Role", "Properties": map[string]any{"ManagedPolicyArns": []any{"x"}}},
		"Queue": {"Type": "AWS::SQS::Queue"},
	}
	eq(t, "gaps", policyGaps(doc, h, resources), []string{
		"AWS::ECS::ClusterCapacityProviderAssociations create handler calls ecs:DescribeCapacityProviders, which the policy does not allow",
		"AWS::IAM::Role iam:AttachRolePolicy: granted, though left out because every role's policy is inline; a template could otherwise attach AdministratorAccess",
		"AWS::SQS::Queue: not in handler-permissions.json; run TYPES=AWS::SQS::Queue scripts/refresh-handler-permissions.sh",
		"statement A allows ecs:DeleteTaskDefinitions, which no deploy handler of the stacks' types calls",
	})
	doc.Statement[0].Action = []any{"ecs:Describe*", "ecs:PutClusterCapacityProviders", "iam:CreateRole"}
	eq(t, "gaps with a wildcard", policyGaps(doc, h, resources), []string{
		"AWS::SQS::Queue: not in handler-permissions.json; run TYPES=AWS::SQS::Queue scripts/refresh-handler-permissions.sh",
		"Role sets ManagedPolicyArns, so AWS::IAM::Role needs iam:AttachRolePolicy",
	})
}
