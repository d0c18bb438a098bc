package node

import (
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/diegod/diegod/model"
)

// ParseLRPSpec decodes an LRP spec in YAML or JSON (JSON is YAML). Unknown
// and duplicate fields are errors, so a typo never passes silently. The
// result is normalized but not validated.
func ParseLRPSpec(data []byte) (model.DesiredLRP, error) {
	var lrp model.DesiredLRP
	if len(strings.TrimSpace(string(data))) == 0 {
		return lrp, model.Errorf(model.CodeInvalidRequest, "empty spec")
	}
	if err := yaml.UnmarshalStrict(data, &lrp); err != nil {
		return lrp, model.Errorf(model.CodeInvalidRequest, "%s", cleanYAMLError(err))
	}
	lrp.Normalize()
	return lrp, nil
}

// cleanYAMLError turns the decoder's wording into one short line.
func cleanYAMLError(err error) string {
	s := err.Error()
	s = strings.ReplaceAll(s, "error unmarshaling JSON: while decoding JSON: ", "")
	s = strings.ReplaceAll(s, "error converting YAML to JSON: ", "")
	s = strings.ReplaceAll(s, "json: ", "")
	s = strings.ReplaceAll(s, "model.DesiredLRP.", "")
	s = strings.ReplaceAll(s, "Go struct field ", "field ")
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "yaml: unmarshal errors:", "")), " ")
	return fmt.Sprintf("invalid spec: %s", s)
}
