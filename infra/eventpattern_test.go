package main

// An EventBridge event-pattern matcher, enough for the task-state rules, and
// the test that feeds those rules sample "ECS Task State Change" events.
//
// Semantics, from the EventBridge User Guide ("Creating event patterns",
// "Arrays in Amazon EventBridge event patterns", "Content filtering") and
// Event Ruler, the library behind it:
//   - "For an event pattern to match an event, the event must contain all the
//     field names listed in the event pattern" (except {"exists": false}).
//   - Fields are ANDed; the values of a field's array are ORed.
//   - "If the value in the event is an array, then the event pattern matches
//     if the intersection of the event pattern array and the event array is
//     non-empty."
//   - Objects inside arrays (detail.containers) are matched element by
//     element: Event Ruler "will refuse to recognize any match in which any two
//     fields are within JSON objects that are in different elements of the
//     same array".
//   - prefix works on strings, numeric on JSON numbers, exists on leaves.
// Where the documents are silent (anything-but against null), the matcher
// takes the wider reading, so a test errs towards seeing a double alert.
// Operators the rules do not use are refused, never silently passed.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// matchPattern reports whether an event (decoded JSON) matches a pattern.
func matchPattern(pattern map[string]any, event any) (bool, error) {
	if elems, isArray := event.([]any); isArray {
		for _, e := range elems {
			if ok, err := matchPattern(pattern, e); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	}
	fields, _ := event.(map[string]any)
	for key, want := range pattern {
		value, present := fields[key]
		var ok bool
		var err error
		switch w := want.(type) {
		case map[string]any:
			ok, err = matchPattern(w, value)
		case []any:
			ok, err = matchLeaf(w, value, present)
		default:
			err = fmt.Errorf("field %q: a pattern value must be an object or an array, not %v", key, want)
		}
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// matchLeaf ORs a field's matchers over the field's value(s).
func matchLeaf(matchers []any, value any, present bool) (bool, error) {
	values := []any{value}
	if elems, isArray := value.([]any); isArray {
		values = elems
	}
	_, isObject := value.(map[string]any)
	for _, m := range matchers {
		op, isOp := m.(map[string]any)
		if !isOp {
			if present && !isObject && containsJSON(values, m) {
				return true, nil
			}
			continue
		}
		if len(op) != 1 {
			return false, fmt.Errorf("matcher %v must have exactly one operator", op)
		}
		for name, arg := range op {
			if name == "exists" {
				if arg == (present && !isObject) {
					return true, nil
				}
				continue
			}
			if !present || isObject {
				continue
			}
			for _, v := range values {
				ok, err := matchOperator(name, arg, v)
				if err != nil || ok {
					return ok, err
				}
			}
		}
	}
	return false, nil
}

func matchOperator(name string, arg, v any) (bool, error) {
	switch name {
	case "prefix":
		p, ok := arg.(string)
		if !ok {
			return false, fmt.Errorf("prefix %v: only a plain string prefix is supported here", arg)
		}
		s, isString := v.(string)
		return isString && strings.HasPrefix(s, p), nil
	case "anything-but":
		if p, isPrefix := arg.(map[string]any); isPrefix {
			prefix, ok := p["prefix"].(string)
			if !ok || len(p) != 1 {
				return false, fmt.Errorf("anything-but %v: only a plain prefix is supported here", arg)
			}
			s, isString := v.(string)
			return !isString || !strings.HasPrefix(s, prefix), nil
		}
		excluded, isList := arg.([]any)
		if !isList {
			excluded = []any{arg}
		}
		return !containsJSON([]any{v}, excluded...), nil
	case "numeric":
		return matchNumeric(arg, v)
	default:
		return false, fmt.Errorf("operator %q is not supported by this test matcher", name)
	}
}

func matchNumeric(arg, v any) (bool, error) {
	terms, ok := arg.([]any)
	if !ok || len(terms) == 0 || len(terms)%2 != 0 {
		return false, fmt.Errorf("numeric %v: want [op, number, ...]", arg)
	}
	n, isNumber := v.(float64)
	for i := 0; i < len(terms); i += 2 {
		op, _ := terms[i].(string)
		bound, isBound := terms[i+1].(float64)
		if !isBound {
			return false, fmt.Errorf("numeric %v: %v is not a number", arg, terms[i+1])
		}
		var holds bool
		switch op {
		case "<":
			holds = n < bound
		case "<=":
			holds = n <= bound
		case "=":
			holds = n == bound
		case ">=":
			holds = n >= bound
		case ">":
			holds = n > bound
		default:
			return false, fmt.Errorf("numeric %v: unknown comparison %q", arg, op)
		}
		if !isNumber || !holds {
			return false, nil
		}
	}
	return true, nil
}

// containsJSON reports whether any of values equals any of wants as JSON
// (numbers by value, null only to null).
func containsJSON(values []any, wants ...any) bool {
	for _, v := range values {
		for _, w := range wants {
			if jsonOf(v) == jsonOf(w) {
				return true
			}
		}
	}
	return false
}

func TestMatcherFollowsEventBridgeSemantics(t *testing.T) {
	event := decode(t, `{"source":"aws.ec2","detail":{"state":"running","c-count":5,"tags":["a","b"],"gone":null,
		"employees":[{"first":"John","last":"Doe"},{"first":"Anna","last":"Smith"}]}}`)
	cases := map[string]bool{
		`{"source":["aws.ec2"]}`:                                        true,
		`{"source":["aws.s3","aws.ec2"]}`:                               true,  // values are ORed
		`{"source":["aws.ec2"],"detail":{"state":["stopped"]}}`:         false, // fields are ANDed
		`{"detail":{"missing":["x"]}}`:                                  false,
		`{"detail":{"state":[{"prefix":"run"}]}}`:                       true,
		`{"detail":{"c-count":[{"prefix":"5"}]}}`:                       false, // prefix is for strings
		`{"detail":{"state":[{"anything-but":"initializing"}]}}`:        true,
		`{"detail":{"state":[{"anything-but":["running","stopped"]}]}}`: false,
		`{"detail":{"missing":[{"anything-but":"x"}]}}`:                 false, // the field must exist
		`{"detail":{"gone":[{"anything-but":0}]}}`:                      true,  // the wider reading for null
		`{"detail":{"gone":[null]}}`:                                    true,
		`{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}]}}`:           true,
		`{"detail":{"c-count":[{"numeric":[">",5]}]}}`:                  false,
		`{"detail":{"missing":[{"exists":false}]}}`:                     true,
		`{"detail":{"state":[{"exists":false}]}}`:                       false,
		`{"detail":{"state":[{"exists":true}]}}`:                        true,
		`{"detail":{"tags":["b","z"]}}`:                                 true, // intersection with an array
		`{"detail":{"employees":{"first":["Anna"],"last":["Smith"]}}}`:  true,
		`{"detail":{"employees":{"first":["Anna"],"last":["Doe"]}}}`:    false, // not across array elements
	}
	for pattern, want := range cases {
		var p map[string]any
		if err := json.Unmarshal([]byte(pattern), &p); err != nil {
			t.Fatal(err)
		}
		got, err := matchPattern(p, event)
		if err != nil || got != want {
			t.Errorf("%s: matched %v (%v), want %v", pattern, got, err, want)
		}
	}
	if _, err := matchPattern(map[string]any{"source": []any{map[string]any{"wildcard": "aws.*"}}}, event); err == nil {
		t.Error("an unsupported operator was not refused")
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}
