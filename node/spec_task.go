package node

import (
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/diegod/diegod/model"
)

// ParseTaskSpec decodes a task spec in YAML or JSON: the LRP spec's field
// names plus task_guid, result_file and completion_callback_url. Unknown
// and duplicate fields are errors. The result is normalized but not
// validated.
func ParseTaskSpec(data []byte) (model.TaskSpec, error) {
	var spec model.TaskSpec
	if len(strings.TrimSpace(string(data))) == 0 {
		return spec, model.Errorf(model.CodeInvalidRequest, "empty spec")
	}
	if err := yaml.UnmarshalStrict(data, &spec); err != nil {
		msg := strings.ReplaceAll(cleanYAMLError(err), "model.TaskSpec.", "")
		return spec, model.Errorf(model.CodeInvalidRequest, "%s", msg)
	}
	spec.Normalize()
	return spec, nil
}
