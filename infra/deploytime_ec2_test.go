package main

// EC2's character rules for security-group and rule descriptions, on every
// synthesized stack. CloudFormation and cdk-nag accept any string; EC2 answers
// "InvalidParameterValue" at deploy time and the stack rolls back.

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// From the EC2 API reference. CreateSecurityGroup's GroupDescription:
// "Constraints: Up to 255 characters in length. Valid characters: a-z, A-Z,
// 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*". A rule's description
// (IpRange, UserIdGroupPair, PrefixListId): "Constraints: Up to 255
// characters in length. Allowed characters are a-z, A-Z, 0-9, spaces, and
// ._-:/()#,@[]+=;{}!$*" (no ampersand).
var (
	groupDescriptionPattern = regexp.MustCompile(`^[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}$`)
	ruleDescriptionPattern  = regexp.MustCompile(`^[a-zA-Z0-9 ._\-:/()#,@\[\]+=;{}!$*]{0,255}$`)
)

// badSecurityGroupDescriptions lists every description EC2 would refuse in
// resources, as "<resource>.<path>: <value>".
func badSecurityGroupDescriptions(resources map[string]map[string]any) []string {
	var bad []string
	check := func(where string, v any, pattern *regexp.Regexp) {
		s, ok := v.(string)
		if !ok {
			if v != nil {
				bad = append(bad, fmt.Sprintf("%s: not a plain string (%s), so not checkable before deploy", where, jsonOf(v)))
			}
			return
		}
		if !pattern.MatchString(s) {
			bad = append(bad, fmt.Sprintf("%s: %q", where, s))
		}
	}
	for id, r := range resources {
		typ, _ := r["Type"].(string)
		if !strings.HasPrefix(typ, "AWS::EC2::SecurityGroup") {
			continue
		}
		p := props(r)
		check(id+".GroupDescription", p["GroupDescription"], groupDescriptionPattern)
		check(id+".Description", p["Description"], ruleDescriptionPattern)
		for _, key := range []string{"SecurityGroupIngress", "SecurityGroupEgress"} {
			for i, rule := range arr(p[key]) {
				check(fmt.Sprintf("%s.%s[%d].Description", id, key, i), obj(rule)["Description"], ruleDescriptionPattern)
			}
		}
	}
	sort.Strings(bad)
	return bad
}

func TestSecurityGroupDescriptionsEC2Accepts(t *testing.T) {
	all := allResources(t)
	n := 0
	for _, r := range all {
		if strings.HasPrefix(r["Type"].(string), "AWS::EC2::SecurityGroup") {
			n++
		}
	}
	if n < 4 {
		t.Fatalf("%d security-group resources in all stacks; the check would prove nothing", n)
	}
	for _, b := range badSecurityGroupDescriptions(all) {
		t.Errorf("EC2 refuses this description (255 characters from a-zA-Z0-9, space and ._-:/()#,@[]+=;{}!$*): %s", b)
	}
}

func TestBadSecurityGroupDescriptionsCatchesWhatEC2Refuses(t *testing.T) {
	rule := func(desc any) map[string]any { return map[string]any{"IpProtocol": "tcp", "Description": desc} }
	resources := map[string]map[string]any{
		"Apostrophe": {"Type": "AWS::EC2::SecurityGroupEgress", "Properties": map[string]any{"Description": "the database's group"}},
		"Ampersand":  {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": map[string]any{"Description": "ECR & SSM"}},
		"TooLong":    {"Type": "AWS::EC2::SecurityGroup", "Properties": map[string]any{"GroupDescription": strings.Repeat("a", 256)}},
		"Inline": {"Type": "AWS::EC2::SecurityGroup", "Properties": map[string]any{"GroupDescription": "ok & fine",
			"SecurityGroupEgress": []any{rule("ok"), rule("café")}, "SecurityGroupIngress": []any{rule(map[string]any{"Ref": "X"})}}},
		"Fine":  {"Type": "AWS::EC2::SecurityGroupEgress", "Properties": map[string]any{"Description": "PostgreSQL to the database at 52.95.110.7/32"}},
		"Other": {"Type": "AWS::SNS::Topic", "Properties": map[string]any{"Description": "not EC2's"}},
	}
	eq(t, "refused", badSecurityGroupDescriptions(resources), []string{
		`Ampersand.Description: "ECR & SSM"`,
		`Apostrophe.Description: "the database's group"`,
		`Inline.SecurityGroupEgress[1].Description: "café"`,
		`Inline.SecurityGroupIngress[0].Description: not a plain string ({"Ref":"X"}), so not checkable before deploy`,
		`TooLong.GroupDescription: "` + strings.Repeat("a", 256) + `"`,
	})
}
