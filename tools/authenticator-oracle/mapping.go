// This file owns the authenticator's mapping types as encoding/json sees
// them (pkg/config/types.go) and their Validate, Key and SSOArnLike
// (pkg/config/mapper.go), with the partition list of pkg/endpoints and the
// ArnLike check of pkg/arn.
package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// roleMapping mirrors config.RoleMapping: same fields, same json tags.
type roleMapping struct {
	RoleARN  string         `json:"rolearn,omitempty"`
	SSO      *ssoARNMatcher `json:"sso,omitempty"`
	Username string         `json:"username"`
	Groups   []string       `json:"groups"`
	UserId   string         `json:"userid,omitempty"`
}

// userMapping mirrors config.UserMapping.
type userMapping struct {
	UserARN  string   `json:"userarn"`
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
	UserId   string   `json:"userid,omitempty"`
}

// ssoARNMatcher mirrors config.SSOARNMatcher.
type ssoARNMatcher struct {
	PermissionSetName string `json:"permissionSetName"`
	AccountID         string `json:"accountID"`
	Partition         string `json:"partition,omitempty"`
}

// partitions is endpoints.PARTITIONS.
var partitions = []string{
	"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc",
}

var (
	accountIDPattern     = regexp.MustCompile(`^[0-9]{12}$`)
	permissionSetPattern = regexp.MustCompile(`^[\w+=,.@-]{1,32}$`)
)

// ssoArnLike is RoleMapping.SSOArnLike, quirk included: the partition is
// "aws" when the matcher's partition is empty and "" otherwise.
func (m *roleMapping) ssoArnLike() string {
	if m.SSO == nil {
		return ""
	}
	var partition string
	if m.SSO.Partition == "" {
		partition = "aws"
	}
	return strings.ToLower(fmt.Sprintf("arn:%s:iam::%s:role/AWSReservedSSO_%s_*",
		partition, m.SSO.AccountID, m.SSO.PermissionSetName))
}

// validate is RoleMapping.Validate.
func (m *roleMapping) validate() error {
	if m.RoleARN == "" && m.SSO == nil {
		return errors.New("one of rolearn or SSO must be supplied")
	} else if m.RoleARN != "" && m.SSO != nil {
		return errors.New("only one of rolearn or SSO can be supplied")
	}
	if m.SSO == nil {
		return nil
	}
	if !accountIDPattern.MatchString(m.SSO.AccountID) {
		return fmt.Errorf("AccountID '%s' is not a valid AWS Account ID", m.SSO.AccountID)
	}
	if !permissionSetPattern.MatchString(m.SSO.PermissionSetName) {
		return fmt.Errorf("PermissionSetName '%s' is not a valid AWS SSO PermissionSet Name", m.SSO.PermissionSetName)
	}
	if m.SSO.Partition != "" && !contains(partitions, m.SSO.Partition) {
		return fmt.Errorf("partition '%s' is not a valid AWS partition", m.SSO.Partition)
	}
	like := m.ssoArnLike()
	ok, err := arnLike(like, "arn:*:iam:*:*:role/*")
	if err != nil {
		return fmt.Errorf("SSOArnLike '%s' is not valid: %v", like, err)
	} else if !ok {
		return fmt.Errorf("SSOArnLike '%s' did not match an ARN for a canonicalized IAM Role", like)
	}
	return nil
}

// key is RoleMapping.Key: the lower-cased ARN, or SSOArnLike.
func (m *roleMapping) key() string {
	if m.RoleARN != "" {
		return strings.ToLower(m.RoleARN)
	}
	return m.ssoArnLike()
}

// validate is UserMapping.Validate.
func (m *userMapping) validate() error {
	if m.UserARN == "" {
		return errors.New("value for userarn must be supplied")
	}
	return nil
}

// key is UserMapping.Key: the ARN as written.
func (m *userMapping) key() string { return m.UserARN }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// arnLike is arn.ArnLike: both split into six sections, each pattern
// section a regexp where `*` and `?` are globs.
func arnLike(arn, pattern string) (bool, error) {
	arnParts, err := arnSections(arn)
	if err != nil {
		return false, fmt.Errorf("could not parse input arn: %v", err)
	}
	patternSections, err := arnSections(pattern)
	if err != nil {
		return false, fmt.Errorf("could not parse ArnLike string: %v", err)
	}
	for i := range arnParts {
		glob, err := regexp.Compile("^" + globToRegexp(patternSections[i]) + "$")
		if err != nil {
			return false, fmt.Errorf("could not parse %s: %v", patternSections[i], err)
		}
		if !glob.MatchString(arnParts[i]) {
			return false, nil
		}
	}
	return true, nil
}

func arnSections(s string) ([]string, error) {
	if !strings.HasPrefix(s, "arn:") {
		return nil, errors.New("invalid prefix")
	}
	sections := strings.SplitN(s, ":", 6)
	if len(sections) != 6 {
		return nil, errors.New("not enough sections")
	}
	return sections, nil
}

// globToRegexp escapes `\.+()|[]{}^$` and turns `*`, `?` into `.*`, `.?`.
func globToRegexp(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(`\.+()|[]{}^$`, c) >= 0 {
			b.WriteByte('\\')
		} else if c == '*' || c == '?' {
			b.WriteByte('.')
		}
		b.WriteByte(c)
	}
	return b.String()
}
