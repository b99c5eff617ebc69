package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// The CDK context keys the app reads (cdk.json "context", or `cdk -c key=value`).
const (
	ContextGitHubRepository = "githubRepository"
	// ContextGitHubOwnerID and ContextGitHubRepositoryID are GitHub's numeric ids of the
	// repository's owner and of the repository (gh api repos/OWNER/NAME --jq '.owner.id, .id'):
	// the immutable OIDC subject names them.
	ContextGitHubOwnerID      = "githubOwnerId"
	ContextGitHubRepositoryID = "githubRepositoryId"
	ContextEnvironments       = "environments"
	// ContextSpot is the plain `-c spot=true`: the default of every
	// environment's own "spot" key.
	ContextSpot = "spot"
)

// DeployContext is the deployer's own values: where each environment lives,
// who gets its alarms, how its task reaches the database, and which GitHub
// repository may deploy it. Nothing here has a default; what is missing is
// left out of the templates and named in a synth warning.
type DeployContext struct {
	GitHubRepository   string
	GitHubOwnerID      string
	GitHubRepositoryID string
	Spot               *bool
	Environments       map[string]EnvironmentContext
}

// EnvironmentContext is one entry of the "environments" context object. The
// network keys mirror Network.
type EnvironmentContext struct {
	Account                 string   `json:"account"`
	Region                  string   `json:"region"`
	AlarmEmails             []string `json:"alarmEmails"`
	DatabaseCIDR            string   `json:"databaseCidr"`
	VpcID                   string   `json:"vpcId"`
	SubnetIDs               []string `json:"subnetIds"`
	AvailabilityZones       []string `json:"availabilityZones"`
	DatabaseSecurityGroupID string   `json:"databaseSecurityGroupId"`
	DatabasePort            int      `json:"databasePort"`
	Spot                    *bool    `json:"spot"`
	Dashboard               *bool    `json:"dashboard"`
	GitHubOIDCProviderARN   string   `json:"githubOidcProviderArn"`
}

var (
	accountPattern  = regexp.MustCompile(`^\d{12}$`)
	regionPattern   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
	vpcIDPattern    = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetIDPattern = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	sgIDPattern     = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	azPattern       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}[a-z]$`)
)

// minDatabasePrefix keeps databaseCidr to the database's own address or a
// provider's small range, never a slice of the internet.
const minDatabasePrefix = 16

// ReadDeployContext reads and checks the context keys through get (the
// app's TryGetContext). Values given with -c arrive as strings, values in
// cdk.json as JSON values; both are accepted.
func ReadDeployContext(get func(key string) any) (DeployContext, error) {
	var c DeployContext
	if err := decodeContext(ContextGitHubRepository, get(ContextGitHubRepository), &c.GitHubRepository); err != nil {
		return c, err
	}
	if err := decodeContext(ContextSpot, get(ContextSpot), &c.Spot); err != nil {
		return c, err
	}
	if err := c.readGitHubIDs(get); err != nil {
		return c, err
	}
	var raw map[string]json.RawMessage
	if err := decodeContext(ContextEnvironments, get(ContextEnvironments), &raw); err != nil {
		return c, err
	}
	c.Environments = map[string]EnvironmentContext{}
	for name, v := range raw {
		key := ContextEnvironments + "." + name
		var e EnvironmentContext
		if err := decodeStrict(key, v, &e); err != nil {
			return c, err
		}
		if err := e.check(key); err != nil {
			return c, err
		}
		c.Environments[name] = e
	}
	if c.GitHubRepository != "" && !gitHubRepoPattern.MatchString(c.GitHubRepository) {
		return c, fmt.Errorf("context %s %q is not owner/name as on GitHub (no wildcards)", ContextGitHubRepository, c.GitHubRepository)
	}
	return c, nil
}

var gitHubIDPattern = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)

// readGitHubIDs reads githubOwnerId and githubRepositoryId: both or neither, each GitHub's
// numeric id, and only beside githubRepository.
func (c *DeployContext) readGitHubIDs(get func(key string) any) error {
	ids := []struct {
		key string
		dst *string
	}{{ContextGitHubOwnerID, &c.GitHubOwnerID}, {ContextGitHubRepositoryID, &c.GitHubRepositoryID}}
	for _, id := range ids {
		if err := decodeContext(id.key, get(id.key), id.dst); err != nil {
			return err
		}
		if *id.dst != "" && !gitHubIDPattern.MatchString(*id.dst) {
			return fmt.Errorf("context %s %q is not GitHub's numeric id (gh api repos/OWNER/NAME --jq '.owner.id, .id' prints both)", id.key, *id.dst)
		}
	}
	switch {
	case (c.GitHubOwnerID == "") != (c.GitHubRepositoryID == ""):
		return fmt.Errorf("context %s and %s go together: GitHub's immutable OIDC subject names both", ContextGitHubOwnerID, ContextGitHubRepositoryID)
	case c.GitHubOwnerID != "" && c.GitHubRepository == "":
		return fmt.Errorf("context %s and %s need %s, the repository they are the ids of", ContextGitHubOwnerID, ContextGitHubRepositoryID, ContextGitHubRepository)
	}
	return nil
}

// decodeContext decodes one context value into dst. A string is taken as
// JSON unless dst is a string itself; `-c spot=true` gives the string "true".
func decodeContext(key string, v any, dst any) error {
	if v == nil {
		return nil
	}
	var text []byte
	if s, ok := v.(string); ok && reflect.TypeOf(dst).Elem().Kind() != reflect.String {
		if kindOf(reflect.TypeOf(dst)) == "true or false" && s != "true" && s != "false" {
			return fmt.Errorf("context %s must be true or false, not %q", key, s)
		}
		text = []byte(s)
	} else {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("context %s cannot be read: %w", key, err)
		}
		text = b
	}
	return decodeStrict(key, text, dst)
}

// decodeStrict is json.Unmarshal that refuses keys dst does not name exactly
// (encoding/json would take "VPCID" for vpcId) and says where a type is wrong.
func decodeStrict(key string, text []byte, dst any) error {
	if t := reflect.TypeOf(dst).Elem(); t.Kind() == reflect.Struct {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(text, &keys); err != nil {
			return contextError(key, err)
		}
		known := jsonKeys(t)
		for k := range keys {
			if !slices.Contains(known, k) {
				return fmt.Errorf("context %s has the unknown key %q; the keys are %s", key, k, strings.Join(known, ", "))
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return contextError(key, err)
	}
	return nil
}

func contextError(key string, err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		where := key
		if typeErr.Field != "" {
			where += "." + typeErr.Field
		}
		return fmt.Errorf("context %s must be %s, not a JSON %s", where, kindOf(typeErr.Type), typeErr.Value)
	}
	return fmt.Errorf("context %s is not valid JSON of the documented shape (%v)", key, err)
}

// kindOf names a Go type the way the documented JSON shape does.
func kindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "a whole number"
	case reflect.Slice:
		return "a list of strings"
	default:
		return "an object"
	}
}

// jsonKeys lists a struct's JSON field names, sorted.
func jsonKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// check refuses an environment entry that is incomplete or names something
// that cannot exist. key is "environments.<name>".
func (e EnvironmentContext) check(key string) error {
	switch {
	case e.Account == "":
		return fmt.Errorf("context %s has no account: its stack is pinned to that AWS account, and with %s its GitHub role is created there", key, ContextGitHubRepository)
	case !accountPattern.MatchString(e.Account):
		return fmt.Errorf("context %s.account %q is not a 12-digit AWS account id", key, e.Account)
	case e.Region == "":
		return fmt.Errorf("context %s has no region: its stack is pinned to that region, and the GitHub role may assume only that region's CDK bootstrap roles", key)
	case !regionPattern.MatchString(e.Region):
		return fmt.Errorf("context %s.region %q is not an AWS region like eu-west-1", key, e.Region)
	case len(e.AlarmEmails) == 0:
		return fmt.Errorf("context %s.alarmEmails is empty; name at least one address, or failures go unnoticed", key)
	case e.GitHubOIDCProviderARN != "" && !strings.Contains(e.GitHubOIDCProviderARN, "::"+e.Account+":"):
		return fmt.Errorf("context %s.githubOidcProviderArn %q is not in the environment's account %s", key, e.GitHubOIDCProviderARN, e.Account)
	}
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

// Apply sets the context's values on the app's environments, by name.
func (c DeployContext) Apply(envs []Environment) ([]Environment, error) {
	out := slices.Clone(envs)
	names := make([]string, len(envs))
	for i, e := range envs {
		names[i] = e.Name
	}
	for name, ec := range c.Environments {
		i := slices.Index(names, name)
		if i < 0 {
			return nil, fmt.Errorf("context %s.%s names no environment of the app; infra/environments.go has %s",
				ContextEnvironments, name, strings.Join(names, ", "))
		}
		e := &out[i]
		e.Account, e.Region, e.AlarmEmails = ec.Account, ec.Region, ec.AlarmEmails
		e.Network.VpcID, e.Network.SubnetIDs, e.Network.AvailabilityZones = ec.VpcID, ec.SubnetIDs, ec.AvailabilityZones
		e.Network.DatabaseSecurityGroupID, e.Network.DatabaseCIDR = ec.DatabaseSecurityGroupID, ec.DatabaseCIDR
		if ec.DatabasePort != 0 {
			e.Network.DatabasePort = ec.DatabasePort
		}
		if ec.Dashboard != nil {
			e.NoDashboard = !*ec.Dashboard
		}
		e.GitHubOIDCProviderARN = ec.GitHubOIDCProviderARN
	}
	for i := range out {
		if spot := c.spotOf(out[i].Name); spot != nil {
			out[i].Spot = *spot
		}
	}
	return out, nil
}

// spotOf is the environment's own "spot", else the plain context key "spot".
func (c DeployContext) spotOf(name string) *bool {
	if ec, ok := c.Environments[name]; ok && ec.Spot != nil {
		return ec.Spot
	}
	return c.Spot
}

// reservedDomains are the names RFC 2606 and RFC 6761 set aside for examples
// and tests: mail to them is never delivered.
var reservedDomains = []string{"example", "test", "invalid", "localhost", "example.com", "example.net", "example.org"}

// reservedDomain reports whether the address's domain is, or is under, a reserved name.
func reservedDomain(address string) bool {
	_, domain, _ := strings.Cut(strings.ToLower(address), "@")
	domain = strings.TrimSuffix(domain, ".")
	for _, r := range reservedDomains {
		if domain == r || strings.HasSuffix(domain, "."+r) {
			return true
		}
	}
	return false
}

// checkDeployerValues refuses placeholders and database paths wider than the
// database, whether they came from the context or from environments.go.
func (e Environment) checkDeployerValues() error {
	for _, a := range e.AlarmEmails {
		if reservedDomain(a) {
			return fmt.Errorf("environment %q: alarm e-mail %q is in a reserved example domain that never receives mail; give a real address", e.Name, a)
		}
	}
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
