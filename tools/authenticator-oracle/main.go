// Command authenticator-oracle decodes aws-auth ConfigMap data the way
// aws-iam-authenticator does, for migrate-auth's differential test.
//
// It owns the reference side of that test: ParseMap's decode path
// (utilyaml.ToJSON, then encoding/json into the authenticator's mapping
// types, then Validate), mapAccounts through gopkg.in/yaml.v2, and saveMap's
// keying. It reads one JSON case per stdin line and writes one JSON result
// per stdout line, in order. See README.md for the protocol and sources.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// dataKeys are the keys ParseMap reads, in the order it reads them.
var dataKeys = []string{"mapUsers", "mapRoles", "mapAccounts"}

// input is one case: a ConfigMap's data.
type input struct {
	Data map[string]string `json:"data"`
}

// ssoOut, roleOut and userOut are the decoded mappings as printed.
type ssoOut struct {
	PermissionSetName string `json:"permissionSetName"`
	AccountID         string `json:"accountID"`
	Partition         string `json:"partition"`
}

type roleOut struct {
	Key      string   `json:"key"`
	RoleARN  string   `json:"rolearn"`
	SSO      *ssoOut  `json:"sso"`
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

type userOut struct {
	Key      string   `json:"key"`
	UserARN  string   `json:"userarn"`
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

// output is the reading of one case.
type output struct {
	Keys             map[string]string `json:"keys"`
	Roles            []roleOut         `json:"roles"`
	Users            []userOut         `json:"users"`
	Accounts         []string          `json:"accounts"`
	Nondeterministic bool              `json:"nondeterministic"`
	// Errors holds, per key, what ParseMap would log (for diagnosis only).
	Errors map[string]string `json:"errors,omitempty"`
	// Panic holds a recovered Go panic, per key ("key: message").
	Panic string `json:"panic,omitempty"`
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	for {
		if in.Buffered() == 0 {
			out.Flush() // answer everything asked before waiting for more
		}
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			writeLine(out, answer(line))
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			writeLine(out, map[string]string{"error": err.Error()})
			return
		}
	}
}

// answer decodes one input line into its output (or an error object).
func answer(line []byte) interface{} {
	var c input
	if err := json.Unmarshal(line, &c); err != nil {
		return map[string]string{"error": "bad case line: " + err.Error()}
	}
	return decideCase(c.Data)
}

func writeLine(w *bufio.Writer, v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": "cannot print result: " + err.Error()})
	}
	w.Write(b)
	w.WriteByte('\n')
}

// decideCase decodes the case several times: sigs.k8s.io/yaml goes through
// Go maps, so keys that collide as JSON keys (`1:` and `"1":`) can decode
// differently from run to run. Any difference marks it nondeterministic.
func decideCase(data map[string]string) output {
	first := parseMap(data)
	firstReading := reading(first)
	runs := 8
	if anyKeyCollision(data) {
		runs = 64
	}
	for i := 1; i < runs; i++ {
		if reading(parseMap(data)) != firstReading {
			first.Nondeterministic = true
			break
		}
	}
	return first
}

// reading is what a run decided, without its error texts (whose wording
// can follow map order even when the decision does not).
func reading(o output) string {
	o.Errors, o.Panic = nil, ""
	b, _ := json.Marshal(o)
	return string(b)
}

// parseMap is ParseMap followed by saveMap, printed in a stable order.
func parseMap(data map[string]string) output {
	out := output{Keys: map[string]string{}, Errors: map[string]string{}}
	var roles []roleMapping
	var users []userMapping
	var accounts []string
	for _, key := range dataKeys {
		text, ok := data[key]
		if !ok {
			continue
		}
		var r keyResult
		switch key {
		case "mapUsers":
			r = guarded(key, func() keyResult { return decodeUsers(text, &users) })
		case "mapRoles":
			r = guarded(key, func() keyResult { return decodeRoles(text, &roles) })
		default:
			r = guarded(key, func() keyResult { return decodeAccounts(text, &accounts) })
		}
		out.Keys[key] = r.status
		if r.err != "" {
			out.Errors[key] = r.err
		}
		if r.panic != "" {
			out.Panic += fmt.Sprintf("%s: %s; ", key, r.panic)
		}
	}
	if len(out.Errors) == 0 {
		out.Errors = nil
	}
	out.Roles, out.Users, out.Accounts = saveMap(roles, users, accounts)
	return out
}

// keyResult is what happened to one data key.
type keyResult struct {
	status string // "loaded", "failed" or "skipped"
	err    string
	panic  string
}

// guarded runs one key's decode, turning a Go panic into a failed key.
func guarded(key string, decode func() keyResult) (r keyResult) {
	defer func() {
		if p := recover(); p != nil {
			r = keyResult{status: "failed", panic: fmt.Sprint(p)}
		}
	}()
	return decode()
}
