// This file owns ParseMap's per-key decode (pkg/mapper/configmap/configmap.go):
// isSkippable, utilyaml.ToJSON, encoding/json into the mapping types with
// Validate, yaml.v2 into []string for mapAccounts, and saveMap's keying.
package main

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v2"
	sigsyaml "sigs.k8s.io/yaml"
)

// isSkippable is configmap.isSkippable.
func isSkippable(data string) bool {
	trimmed := strings.TrimSpace(data)
	return trimmed == "" || trimmed == "``" || trimmed == "\"\"" || trimmed == "''"
}

// toJSON is k8s.io/apimachinery/pkg/util/yaml.ToJSON: bytes whose first
// non-space rune is `{` pass through as JSON, anything else is YAML.
func toJSON(data []byte) ([]byte, error) {
	if bytes.HasPrefix(bytes.TrimLeftFunc(data, unicode.IsSpace), []byte("{")) {
		return data, nil
	}
	return sigsyaml.YAMLToJSON(data)
}

// decodeUsers is ParseMap's mapUsers branch.
func decodeUsers(text string, users *[]userMapping) keyResult {
	if isSkippable(text) {
		return keyResult{status: "skipped"}
	}
	doc, err := toJSON([]byte(text))
	if err != nil {
		return keyResult{status: "failed", err: err.Error()}
	}
	raw := make([]userMapping, 0)
	err = json.Unmarshal(doc, &raw)
	r := jsonResult(doc, err)
	for _, m := range raw {
		if m.validate() == nil {
			*users = append(*users, m)
		}
	}
	return r
}

// decodeRoles is ParseMap's mapRoles branch.
func decodeRoles(text string, roles *[]roleMapping) keyResult {
	if isSkippable(text) {
		return keyResult{status: "skipped"}
	}
	doc, err := toJSON([]byte(text))
	if err != nil {
		return keyResult{status: "failed", err: err.Error()}
	}
	raw := make([]roleMapping, 0)
	err = json.Unmarshal(doc, &raw)
	r := jsonResult(doc, err)
	for _, m := range raw {
		if m.validate() == nil {
			*roles = append(*roles, m)
		}
	}
	return r
}

// jsonResult says whether json.Unmarshal of doc into a slice loaded the key:
// a syntax error or a top-level value other than an array or null yields
// nothing; type errors inside the items only skip those fields.
func jsonResult(doc []byte, err error) keyResult {
	r := keyResult{status: "loaded"}
	if err != nil {
		r.err = err.Error()
	}
	if _, syntax := err.(*json.SyntaxError); syntax {
		r.status = "failed"
		return r
	}
	top := bytes.TrimLeft(doc, " \t\r\n")
	if !bytes.HasPrefix(top, []byte("[")) && !bytes.HasPrefix(top, []byte("null")) {
		r.status = "failed"
	}
	return r
}

// decodeAccounts is ParseMap's mapAccounts branch: yaml.v2 straight into
// []string. Whatever it decoded is kept, even on error, as ParseMap does.
func decodeAccounts(text string, accounts *[]string) keyResult {
	if isSkippable(text) {
		return keyResult{status: "skipped"}
	}
	got := make([]string, 0)
	err := yaml.Unmarshal([]byte(text), &got)
	*accounts = append(*accounts, got...)
	if err == nil {
		return keyResult{status: "loaded"}
	}
	r := keyResult{status: "failed", err: err.Error()}
	if te, ok := err.(*yaml.TypeError); ok {
		r.status = "loaded"
		for _, e := range te.Errors {
			if strings.Contains(e, "into []string") {
				r.status = "failed" // the top level is not a sequence
			}
		}
	}
	return r
}

// saveMap keys the valid mappings as MapStore.saveMap does (last one wins)
// and returns them sorted by key, with the account set sorted.
func saveMap(roles []roleMapping, users []userMapping, accounts []string) ([]roleOut, []userOut, []string) {
	byRole := map[string]roleMapping{}
	for _, m := range roles {
		byRole[m.key()] = m
	}
	byUser := map[string]userMapping{}
	for _, m := range users {
		byUser[m.key()] = m
	}
	roleList := make([]roleOut, 0, len(byRole))
	for k, m := range byRole {
		roleList = append(roleList, roleOut{Key: k, RoleARN: m.RoleARN, SSO: printSSO(m.SSO),
			Username: m.Username, Groups: nonNil(m.Groups)})
	}
	sort.Slice(roleList, func(i, j int) bool { return roleList[i].Key < roleList[j].Key })
	userList := make([]userOut, 0, len(byUser))
	for k, m := range byUser {
		userList = append(userList, userOut{Key: k, UserARN: m.UserARN,
			Username: m.Username, Groups: nonNil(m.Groups)})
	}
	sort.Slice(userList, func(i, j int) bool { return userList[i].Key < userList[j].Key })
	set := map[string]bool{}
	accountList := make([]string, 0, len(accounts))
	for _, a := range accounts {
		if !set[a] {
			set[a] = true
			accountList = append(accountList, a)
		}
	}
	sort.Strings(accountList)
	return roleList, userList, accountList
}

func printSSO(m *ssoARNMatcher) *ssoOut {
	if m == nil {
		return nil
	}
	return &ssoOut{PermissionSetName: m.PermissionSetName, AccountID: m.AccountID, Partition: m.Partition}
}

func nonNil(groups []string) []string {
	if groups == nil {
		return []string{}
	}
	return groups
}

// anyKeyCollision says whether a mapping in mapRoles or mapUsers has two
// keys that sigs.k8s.io/yaml turns into the same JSON key, so that which
// one wins depends on Go's map order.
func anyKeyCollision(data map[string]string) bool {
	for _, key := range []string{"mapRoles", "mapUsers"} {
		var tree interface{}
		if text, ok := data[key]; ok && yaml.Unmarshal([]byte(text), &tree) == nil && collides(tree) {
			return true
		}
	}
	return false
}

func collides(node interface{}) bool {
	switch n := node.(type) {
	case []interface{}:
		for _, v := range n {
			if collides(v) {
				return true
			}
		}
	case map[interface{}]interface{}:
		seen := map[string]bool{}
		for k, v := range n {
			s := jsonKey(k)
			if seen[s] || collides(v) {
				return true
			}
			seen[s] = true
		}
	}
	return false
}

// jsonKey is the JSON key sigs.k8s.io/yaml makes of a YAML map key.
func jsonKey(k interface{}) string {
	switch k := k.(type) {
	case string:
		return k
	case int:
		return strconv.Itoa(k)
	case int64:
		return strconv.FormatInt(k, 10)
	case float64:
		s := strconv.FormatFloat(k, 'g', -1, 32)
		switch s {
		case "+Inf":
			return ".inf"
		case "-Inf":
			return "-.inf"
		case "NaN":
			return ".nan"
		}
		return s
	case bool:
		return strconv.FormatBool(k)
	}
	return "\x00unsupported"
}
