package scenariofile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// manifest is one object of the manifests and where it was written.
type manifest struct {
	obj *unstructured.Unstructured
	// at is the file (relative to the scenario file) and line, and the
	// document's number when the file holds more than one.
	at string
}

// manifestExts are the files a directory entry of spec.manifests contributes.
var manifestExts = []string{".yaml", ".yml", ".json"}

// readManifests reads every object of spec.manifests, in file order, and
// checks what can be checked of each alone: it parses, it is an object
// with a kind and a name, it names no namespace and is namespaced, and no
// other object has its kind and name. complete is false when some file or
// document could not be read: an object missing from the rest may be there.
func readManifests(entries []string, dir string, p *problems) (ms []manifest, complete bool) {
	if len(entries) == 0 {
		p.addf("spec.manifests", " is empty: list the workload's YAML files, or directories of them, relative to this file")
		return nil, false
	}
	complete = true
	for i, entry := range entries {
		files, err := manifestFiles(entry, dir)
		if err != nil {
			p.addf(fmt.Sprintf("spec.manifests[%d]", i), " %q: %v", entry, err)
			complete = false
			continue
		}
		for _, f := range files {
			full := f
			if !filepath.IsAbs(f) {
				full = filepath.Join(dir, f)
			}
			data, err := os.ReadFile(full)
			if err != nil {
				p.addf(fmt.Sprintf("spec.manifests[%d]", i), " %q: %v", f, unwrapPathError(err))
				complete = false
				continue
			}
			objs, ok := parseManifests(f, data, p)
			ms = append(ms, objs...)
			complete = complete && ok
		}
	}
	if len(ms) == 0 && complete {
		p.addf("spec.manifests", ": no object in them: give the workload's Deployment (or StatefulSet, CloneSet) and its Service")
		complete = false
	}
	checkUnique(ms, p)
	return ms, complete
}

// manifestFiles are the files an entry of spec.manifests names, as the
// scenario file names them: the entry, or its directory's manifests.
func manifestFiles(entry, dir string) ([]string, error) {
	if entry == "" {
		return nil, errors.New("empty: give a file or a directory")
	}
	full := entry
	if !filepath.IsAbs(entry) {
		full = filepath.Join(dir, entry)
	}
	st, err := os.Stat(full)
	if err != nil {
		return nil, fmt.Errorf("%v (paths are relative to the scenario file's directory)", unwrapPathError(err))
	}
	if !st.IsDir() {
		return []string{entry}, nil
	}
	des, err := os.ReadDir(full)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	var files []string
	for _, de := range des {
		if !de.IsDir() && slices.Contains(manifestExts, strings.ToLower(filepath.Ext(de.Name()))) {
			files = append(files, filepath.Join(entry, de.Name()))
		}
	}
	if len(files) == 0 {
		return nil, errors.New("a directory with no *.yaml, *.yml or *.json file (subdirectories are not read)")
	}
	return files, nil
}

// parseManifests reads the objects of one file (name is how the scenario
// file names it); ok is false when a document could not be read.
func parseManifests(name string, data []byte, p *problems) (out []manifest, ok bool) {
	ok = true
	docs := splitDocuments(data)
	for _, d := range docs {
		at := fmt.Sprintf("%s:%d", name, d.line)
		if len(docs) > 1 {
			at += fmt.Sprintf(" (document %d)", d.n)
		}
		j, err := yaml.YAMLToJSONStrict(d.data)
		if err != nil {
			line, msg := yamlErrorLine(err)
			if line > 0 {
				at = fmt.Sprintf("%s:%d", name, d.start+line-1)
				if len(docs) > 1 {
					at += fmt.Sprintf(" (document %d)", d.n)
				}
			}
			p.add(fmt.Errorf("%s: does not parse: %s", at, msg))
			ok = false
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(j, &obj); err != nil || obj == nil {
			p.add(fmt.Errorf("%s: not a Kubernetes object: write a mapping with apiVersion, kind and metadata.name", at))
			ok = false
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.GetKind() != "List" {
			if usable(name, at, u, p) {
				out = append(out, manifest{obj: u, at: at})
			} else {
				ok = false
			}
			continue
		}
		items, _, err := unstructured.NestedSlice(obj, "items")
		if err != nil {
			p.add(fmt.Errorf("%s: List: items is not a list of objects", at))
			ok = false
			continue
		}
		for k, it := range items {
			m, isObj := it.(map[string]any)
			itemAt := fmt.Sprintf("%s item %d", at, k)
			switch {
			case !isObj:
				p.add(fmt.Errorf("%s: not a Kubernetes object", itemAt))
				ok = false
			case usable(name, itemAt, &unstructured.Unstructured{Object: m}, p):
				out = append(out, manifest{obj: &unstructured.Unstructured{Object: m}, at: itemAt})
			default:
				ok = false
			}
		}
	}
	return out, ok
}

// usable reports what is wrong with one object alone, and whether it can
// still be looked at beside the others (it has a kind and a name).
func usable(file, at string, u *unstructured.Unstructured, p *problems) bool {
	if u.GetAPIVersion() == "" || u.GetKind() == "" {
		hint := ""
		if b := strings.ToLower(filepath.Base(file)); b == "kustomization.yaml" || b == "kustomization.yml" {
			hint = " (a kustomization is not applied as is: render it with kubectl kustomize DIR > manifests.yaml and list that file)"
		}
		p.add(fmt.Errorf("%s: no apiVersion or kind: every object needs both%s", at, hint))
		return false
	}
	what := u.GetKind() + " " + u.GetName()
	if u.GetName() == "" {
		p.add(fmt.Errorf("%s: %s has no metadata.name: give it one (zerodrop finds the Service and the controller by name)", at, u.GetKind()))
		return false
	}
	if ns := u.GetNamespace(); ns != "" {
		p.add(fmt.Errorf("%s: %s: metadata.namespace %q: remove it: zerodrop creates every object in a namespace of its own, made for each scenario", at, what, ns))
	}
	if why, ok := clusterScoped[u.GetKind()]; ok {
		p.add(fmt.Errorf("%s: %s is cluster-scoped (%s): remove it and create it before the run: zerodrop creates the objects in a namespace of its own for each scenario and deletes it afterwards; a cluster-scoped object would outlive that namespace and be shared by every scenario", at, what, why))
	}
	return true
}

// clusterScoped are the cluster-scoped kinds of Kubernetes and of the
// controllers zerodrop installs, with what each is (a custom resource's
// scope is known only to its cluster: the runner's REST mapping tells).
var clusterScoped = map[string]string{
	"Namespace":                        "a namespace",
	"Node":                             "a node",
	"PersistentVolume":                 "a volume",
	"StorageClass":                     "a storage class",
	"CSIDriver":                        "a CSI driver",
	"CSINode":                          "a CSI node",
	"VolumeAttachment":                 "a volume attachment",
	"ClusterRole":                      "RBAC for the whole cluster",
	"ClusterRoleBinding":               "RBAC for the whole cluster",
	"CustomResourceDefinition":         "an API type",
	"APIService":                       "an API type",
	"MutatingWebhookConfiguration":     "an admission webhook",
	"ValidatingWebhookConfiguration":   "an admission webhook",
	"ValidatingAdmissionPolicy":        "an admission policy",
	"ValidatingAdmissionPolicyBinding": "an admission policy",
	"MutatingAdmissionPolicy":          "an admission policy",
	"MutatingAdmissionPolicyBinding":   "an admission policy",
	"PriorityClass":                    "a scheduling priority",
	"RuntimeClass":                     "a container runtime class",
	"IngressClass":                     "an ingress controller class",
	"GatewayClass":                     "a gateway controller class",
	"CertificateSigningRequest":        "a certificate request",
	"FlowSchema":                       "API priority and fairness",
	"PriorityLevelConfiguration":       "API priority and fairness",
	"ClusterTrustBundle":               "a trust bundle",
	"DeviceClass":                      "a device class",
	"ClusterIssuer":                    "a cert-manager issuer for the whole cluster",
	"ResourceSlice":                    "a device inventory",
	"VolumeAttributesClass":            "a volume class",
	"IPAddress":                        "a Service IP",
	"ServiceCIDR":                      "a Service IP range",
	"ResourceDistribution":             "an OpenKruise distribution to many namespaces",
	"NodeImage":                        "an OpenKruise node image",
	"NodePodProbe":                     "an OpenKruise node probe",
}

// checkUnique reports objects of the same kind and name.
func checkUnique(ms []manifest, p *problems) {
	seen := map[string]string{}
	for _, m := range ms {
		gk := m.obj.GroupVersionKind().GroupKind()
		key := gk.String() + "/" + m.obj.GetName()
		if first, ok := seen[key]; ok {
			p.add(fmt.Errorf("%s: %s %s is also defined at %s: keep one", m.at, gk.Kind, m.obj.GetName(), first))
			continue
		}
		seen[key] = m.at
	}
}

// document is one YAML document of a file.
type document struct {
	n     int    // its number among the file's non-empty documents, from 1
	start int    // the file's line the document's text starts at
	line  int    // the line of its first content (not blank, not a comment)
	data  []byte // its text
}

// splitDocuments splits a file at its "---" lines and drops the documents
// with no content, keeping each one's line numbers in the file.
func splitDocuments(data []byte) []document {
	var docs []document
	cur := document{start: 1}
	flush := func() {
		if cur.line > 0 {
			cur.n = len(docs) + 1
			docs = append(docs, cur)
		}
	}
	for i, l := range bytes.SplitAfter(data, []byte("\n")) {
		lineNo := i + 1
		text := strings.TrimRight(string(l), "\r\n")
		if text == "---" || strings.HasPrefix(text, "--- ") || strings.HasPrefix(text, "---\t") {
			flush()
			cur = document{start: lineNo + 1}
			continue
		}
		if t := strings.TrimSpace(text); cur.line == 0 && t != "" && !strings.HasPrefix(t, "#") && t != "..." {
			cur.line = lineNo
		}
		cur.data = append(cur.data, l...)
	}
	flush()
	return docs
}

var yamlLine = regexp.MustCompile(`line (\d+): ?`)

// yamlErrorLine returns the line (within the document) a YAML error names,
// and the error without it.
func yamlErrorLine(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	m := yamlLine.FindStringSubmatchIndex(msg)
	if m == nil {
		return 0, msg
	}
	n, _ := strconv.Atoi(msg[m[2]:m[3]])
	rest := msg[:m[0]] + msg[m[1]:]
	rest = strings.TrimPrefix(strings.TrimSpace(strings.Replace(rest, "yaml: unmarshal errors:", "", 1)), "yaml: ")
	return n, rest
}

// unwrapPathError drops the path an *os.PathError repeats.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
