package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
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

// environmentKeys are the keys an "environments" entry may have, sorted: encoding/json
// matches keys case-insensitively and would take "VPCID" for vpcId, so they are compared
// exactly before decoding.
var environmentKeys = func() []string {
	t := reflect.TypeFor[EnvironmentContext]()
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i] = t.Field(i).Tag.Get("json")
	}
	sort.Strings(keys)
	return keys
}()

// ReadDeployContext decodes the context keys through get (the app's TryGetContext) and
// checks them (validate_context.go). Values given with -c arrive as strings, values in
// cdk.json as JSON values; both are accepted.
func ReadDeployContext(get func(key string) any) (DeployContext, error) {
	c, err := decodeDeployContext(get)
	if err != nil {
		return c, err
	}
	return c, c.check()
}

// decodeDeployContext is the one decode of the context: each key into its typed field,
// each environment entry into an EnvironmentContext.
func decodeDeployContext(get func(key string) any) (DeployContext, error) {
	var c DeployContext
	var entries map[string]json.RawMessage
	for _, k := range []struct {
		key string
		dst any
	}{
		{ContextGitHubRepository, &c.GitHubRepository}, {ContextGitHubOwnerID, &c.GitHubOwnerID},
		{ContextGitHubRepositoryID, &c.GitHubRepositoryID}, {ContextSpot, &c.Spot}, {ContextEnvironments, &entries},
	} {
		if err := decodeKey(k.key, get(k.key), k.dst); err != nil {
			return c, err
		}
	}
	c.Environments = map[string]EnvironmentContext{}
	for name, raw := range entries {
		key := ContextEnvironments + "." + name
		var e EnvironmentContext
		if err := decodeEntry(key, raw, &e); err != nil {
			return c, err
		}
		c.Environments[name] = e
	}
	return c, nil
}

// decodeKey decodes one context value into dst. A string is taken as JSON
// unless dst is a string itself; `-c spot=true` gives the string "true".
func decodeKey(key string, v any, dst any) error {
	if v == nil {
		return nil
	}
	s, isString := v.(string)
	switch dst.(type) {
	case *string:
		isString = false
	case **bool:
		if isString && s != "true" && s != "false" {
			return fmt.Errorf("context %s must be true or false, not %q", key, s)
		}
	}
	text := []byte(s)
	if !isString {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("context %s cannot be read: %w", key, err)
		}
		text = b
	}
	return decodeJSON(key, text, dst)
}

// decodeEntry decodes one "environments" entry, refusing a key it does not name exactly.
func decodeEntry(key string, text []byte, dst *EnvironmentContext) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(text, &keys); err != nil {
		return contextError(key, err)
	}
	for k := range keys {
		if !slices.Contains(environmentKeys, k) {
			return fmt.Errorf("context %s has the unknown key %q; the keys are %s", key, k, strings.Join(environmentKeys, ", "))
		}
	}
	return decodeJSON(key, text, dst)
}

// decodeJSON is encoding/json's decoder, its errors said in the context's terms.
func decodeJSON(key string, text []byte, dst any) error {
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

// Apply sets the context's values on the app's environments, by name.
func (c DeployContext) Apply(envs []Environment) ([]Environment, error) {
	out := slices.Clone(envs)
	names := EnvironmentNames(envs)
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
		out[i].GitHubRepository = c.GitHubRepository
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
