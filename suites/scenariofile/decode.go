package scenariofile

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// decode decodes a scenario file strictly into f: YAML that does not parse,
// duplicate and unknown fields and values of the wrong type are problems,
// each with its field path. A value of the wrong type is left out and the
// rest decoded again, so that every such value is reported at once. It
// reports whether the file decoded at all (a mapping, if with problems).
func decode(data []byte, f *File, p *problems) bool {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		if line, msg := yamlErrorLine(err); line > 0 {
			p.add(fmt.Errorf("line %d: the file does not parse: %s", line, msg))
		} else {
			p.add(fmt.Errorf("the file does not parse: %s", msg))
		}
		return false
	}
	if t := strings.TrimSpace(string(j)); t == "null" || t == "" {
		p.add(fmt.Errorf("the file is empty: start it with apiVersion: %s and kind: %s", APIVersion, Kind))
		return false
	}
	// a value of the wrong type stops the strict decoder before its checks
	// for unknown fields: take such values out one at a time (a file has a
	// few dozen fields at most)
	for range 100 {
		*f = File{}
		strict, err := sigsjson.UnmarshalStrict(j, f)
		if err == nil {
			for _, s := range strict {
				p.add(strictProblem(s))
			}
			return true
		}
		// the strict decoder's type errors are its own, unexported type:
		// the standard library's name the same field
		var te *json.UnmarshalTypeError
		if !errors.As(json.Unmarshal(j, new(File)), &te) {
			p.add(fmt.Errorf("the file does not decode: %w", err))
			return false
		}
		if te.Field == "" {
			p.add(fmt.Errorf("the file is %s, not a mapping: start it with apiVersion: %s", describeValue(te.Value), APIVersion))
			return false
		}
		if ft := typeAt(reflect.TypeOf(File{}), te.Field); ft != nil && ft.Kind() == reflect.Slice && ft != te.Type {
			// the decoder names the list, not its item
			p.addf(te.Field, ": an item is %s, where %s belongs", describeValue(te.Value), describeType(te.Type))
		} else {
			p.addf(te.Field, ": %s, where %s belongs", describeValue(te.Value), describeType(te.Type))
		}
		p.undecoded = append(p.undecoded, te.Field)
		var ok bool
		if j, ok = without(j, te.Field); !ok {
			return true
		}
	}
	return true
}

// strictProblem names an unknown or duplicate field and, for an unknown
// one, the fields its parent has.
func strictProblem(err error) error {
	var fe sigsjson.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	path := fe.FieldPath()
	if strings.HasPrefix(err.Error(), "duplicate field") {
		return fmt.Errorf("%s: given twice: keep one", path)
	}
	parent := ""
	if i := strings.LastIndex(path, "."); i >= 0 {
		parent = path[:i]
	}
	if names := fieldNames(reflect.TypeOf(File{}), parent); len(names) > 0 {
		return fmt.Errorf("%s: unknown field: remove it or check its spelling (fields here: %s)", path, strings.Join(names, ", "))
	}
	return fmt.Errorf("%s: unknown field: remove it or check its spelling", path)
}

// typeAt is the type of the field at a dotted path below t ("" is t
// itself), or nil.
func typeAt(t reflect.Type, path string) reflect.Type {
	for _, name := range strings.Split(path, ".") {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if name == "" {
			continue
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		found := false
		for i := range t.NumField() {
			if jsonName(t.Field(i)) == name {
				t, found = t.Field(i).Type, true
				break
			}
		}
		if !found {
			return nil
		}
	}
	return t
}

// fieldNames lists the JSON names of the fields of the struct at a dotted
// path below t.
func fieldNames(t reflect.Type, path string) []string {
	t = typeAt(t, path)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := range t.NumField() {
		if n := jsonName(t.Field(i)); n != "" {
			names = append(names, n)
		}
	}
	return names
}

func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// without returns the JSON document without the value at a dotted path.
func without(j []byte, path string) ([]byte, bool) {
	var doc map[string]any
	if json.Unmarshal(j, &doc) != nil {
		return nil, false
	}
	m := doc
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	last := keys[len(keys)-1]
	if _, ok := m[last]; !ok {
		return nil, false
	}
	delete(m, last)
	out, err := json.Marshal(doc)
	return out, err == nil
}

// describeValue says what a JSON value (as the decoder describes it: "string",
// "number -5", "array") is, for people who wrote YAML.
func describeValue(v string) string {
	switch kind, rest, _ := strings.Cut(v, " "); kind {
	case "string":
		return "a string"
	case "number":
		if rest != "" {
			return "the number " + rest
		}
		return "a number"
	case "bool":
		return "a boolean (YAML reads true, false, yes, no, on and off so: quote the word if you mean it)"
	case "array":
		return "a list"
	case "object":
		return "a mapping"
	}
	return v
}

// describeType says what a Go type takes, in YAML's words.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		if t == reflect.TypeOf(Duration("")) {
			return "a duration such as 3s"
		}
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "a "), "an ") + "s"
	case reflect.Struct, reflect.Map:
		return "a mapping"
	}
	return t.String()
}
