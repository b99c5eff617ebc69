package main

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// nagException is a cdk-nag rule one resource breaks on purpose. The reason is what a reviewer of
// the nag report reads, so it says why the rule does not fit here, not that it was suppressed.
type nagException struct {
	rule   string
	reason string
	// appliesTo narrows the exception to these findings (strings or *cdknag.RegexAppliesTo);
	// empty covers every finding of the rule on the resource.
	appliesTo []interface{}
	// withChildren extends it to the resource's children, e.g. a role's default policy.
	withChildren bool
}

// exempt records the exceptions on resource; cdk-nag reports any other finding as an error,
// which fails the synth (main.go).
func exempt(resource constructs.IConstruct, exceptions ...nagException) {
	for _, e := range exceptions {
		s := &cdknag.NagPackSuppression{Id: jsii.String(e.rule), Reason: jsii.String(e.reason)}
		if len(e.appliesTo) > 0 {
			applies := e.appliesTo
			s.AppliesTo = &applies
		}
		cdknag.NagSuppressions_AddResourceSuppressions(resource, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(e.withChildren))
	}
}
