// Package validate checks the Helm chart offline: every manifest that `helm template`
// renders, for the chart's value sets, decodes strictly (no unknown or misplaced
// field) into the Kubernetes API types of k8s.io/api, or, for the CRDs (KEDA's
// ScaledObject, the Prometheus operator's ServiceMonitor), into the fields the chart
// uses; and the manifests say what the deployment needs (probes, drain, security,
// models). It is its own module so that the main one gains no dependency.
//
//	cd deploy/validate && LUMEN_HELM=$(command -v helm) go test ./...
package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// render runs helm template on the chart with the value files and --set pairs.
func render(t *testing.T, files []string, sets ...string) [][]byte {
	t.Helper()
	helm := helmPath(t)
	chart := filepath.Join("..", "helm", "lumen")
	args := []string{"template", "rel", chart}
	for _, f := range files {
		args = append(args, "-f", filepath.Join(chart, f))
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	out, err := exec.Command(helm, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var docs [][]byte
	for _, d := range bytes.Split(out, []byte("\n---")) {
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

// helmPath is $LUMEN_HELM, else helm on the PATH.
func helmPath(t *testing.T) string {
	t.Helper()
	if helm := os.Getenv("LUMEN_HELM"); helm != "" {
		return helm
	}
	helm, err := exec.LookPath("helm")
	if err != nil {
		t.Fatal("no helm: set LUMEN_HELM (CI builds it from helm.sh/helm/v4)")
	}
	return helm
}

func stripComments(d []byte) []byte {
	var b bytes.Buffer
	for _, l := range bytes.Split(d, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			b.Write(l)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// strict decodes a YAML manifest into v, refusing unknown fields.
func strict(doc []byte, v any) error {
	raw, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// scaledObject and serviceMonitor are the CRD fields the chart writes.
type objectMeta struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}
type scaledObject struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		ScaleTargetRef  struct{ Name string } `json:"scaleTargetRef"`
		MinReplicaCount int                   `json:"minReplicaCount"`
		MaxReplicaCount int                   `json:"maxReplicaCount"`
		PollingInterval int                   `json:"pollingInterval"`
		CooldownPeriod  int                   `json:"cooldownPeriod"`
		Triggers        []struct {
			Type     string            `json:"type"`
			Metadata map[string]string `json:"metadata"`
		} `json:"triggers"`
	} `json:"spec"`
}
type serviceMonitor struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		Selector  struct{ MatchLabels map[string]string } `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// decoded holds one rendering's objects by kind.
type decoded struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	hpas        []autoscalingv2.HorizontalPodAutoscaler
	pdbs        []policyv1.PodDisruptionBudget
	pvcs        []corev1.PersistentVolumeClaim
	scaled      []scaledObject
	monitors    []serviceMonitor
}

// decodeInto decodes doc strictly as a T and appends it to list.
func decodeInto[T any](doc []byte, list *[]T) error {
	var o T
	err := strict(doc, &o)
	*list = append(*list, o)
	return err
}

func decodeAll(t *testing.T, docs [][]byte) decoded {
	t.Helper()
	var d decoded
	for _, doc := range docs {
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		var err error
		switch fmt.Sprintf("%s %s", head.APIVersion, head.Kind) {
		case "apps/v1 Deployment":
			err = decodeInto(doc, &d.deployments)
		case "v1 Service":
			err = decodeInto(doc, &d.services)
		case "autoscaling/v2 HorizontalPodAutoscaler":
			err = decodeInto(doc, &d.hpas)
		case "policy/v1 PodDisruptionBudget":
			err = decodeInto(doc, &d.pdbs)
		case "v1 PersistentVolumeClaim":
			err = decodeInto(doc, &d.pvcs)
		case "keda.sh/v1alpha1 ScaledObject":
			err = decodeInto(doc, &d.scaled)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			err = decodeInto(doc, &d.monitors)
		default:
			t.Fatalf("unexpected object %s %s", head.APIVersion, head.Kind)
		}
		if err != nil {
			t.Fatalf("%s %s does not decode strictly: %v\n%s", head.APIVersion, head.Kind, err, doc)
		}
	}
	return d
}

func TestChartRendersValidManifests(t *testing.T) {
	for _, c := range []struct {
		name  string
		files []string
		sets  []string
		check func(t *testing.T, d decoded)
	}{
		{"defaults", nil, nil, func(t *testing.T, d decoded) {
			expect(t, len(d.deployments) == 1 && len(d.services) == 1 && len(d.hpas) == 1 && len(d.pdbs) == 1, "deployment, service, HPA, PDB")
			expect(t, len(d.pvcs) == 0 && len(d.scaled) == 0 && len(d.monitors) == 0, "no claim, KEDA or ServiceMonitor by default")
			dep := d.deployments[0]
			expect(t, dep.Spec.Replicas == nil, "the HPA owns the replica count")
			pod := dep.Spec.Template.Spec
			c := pod.Containers[0]
			expect(t, c.StartupProbe.HTTPGet.Path == "/healthz" && c.ReadinessProbe.HTTPGet.Path == "/readyz" && c.LivenessProbe.HTTPGet.Path == "/healthz", "probes")
			expect(t, *pod.TerminationGracePeriodSeconds == 5+60+10, "grace = drain delay + drain timeout + 10")
			args := strings.Join(c.Args, " ")
			for _, want := range []string{"--model=minilm=sentence-transformers/all-MiniLM-L6-v2", "--drain-delay=5s", "--drain-timeout=60s", "--addr=0.0.0.0:8080"} {
				expect(t, strings.Contains(args, want), "args have "+want+": "+args)
			}
			expect(t, *pod.SecurityContext.RunAsNonRoot && *c.SecurityContext.ReadOnlyRootFilesystem, "non-root, read-only root")
			expect(t, pod.Volumes[0].EmptyDir != nil && c.VolumeMounts[0].MountPath == "/data", "the cache on an emptyDir at /data")
			expect(t, c.Env[0].Name == "HF_HOME" && c.Env[0].Value == "/data/hf", "HF_HOME on the volume")
			hpa := d.hpas[0]
			expect(t, hpa.Spec.ScaleTargetRef.Name == dep.Name && len(hpa.Spec.Metrics) == 1 && hpa.Spec.Metrics[0].Resource.Name == corev1.ResourceCPU, "CPU autoscaling of the deployment")
			expect(t, d.services[0].Spec.Selector["app.kubernetes.io/instance"] == "rel", "the service selects the release's pods")
		}},
		{"embeddings", []string{"values-embeddings.yaml"}, nil, func(t *testing.T, d decoded) {
			c := d.deployments[0].Spec.Template.Spec.Containers[0]
			expect(t, strings.Contains(strings.Join(c.Args, " "), "--max-batch-tokens=4096"), "token-budget batching")
			m := d.hpas[0].Spec.Metrics
			expect(t, len(m) == 2 && m[1].Type == autoscalingv2.PodsMetricSourceType && m[1].Pods.Metric.Name == "lumen_queue_depth", "CPU and the queue depth")
		}},
		{"generation", []string{"values-generation.yaml"}, nil, func(t *testing.T, d decoded) {
			c := d.deployments[0].Spec.Template.Spec.Containers[0]
			expect(t, strings.Contains(strings.Join(c.Args, " "), "--model=smollm2=HuggingFaceTB/SmolLM2-135M-Instruct-GGUF:"), "a GGUF model")
			expect(t, d.hpas[0].Spec.Metrics[1].Pods.Metric.Name == "lumen_batch_running", "scaled on the running sequences")
			expect(t, *d.deployments[0].Spec.Template.Spec.TerminationGracePeriodSeconds == 5+120+10, "a longer drain")
		}},
		{"claim, KEDA, ServiceMonitor, token, no autoscaling", nil,
			[]string{"cache.persistentVolumeClaim.enabled=true", "autoscaling.keda.enabled=true", "serviceMonitor.enabled=true",
				"hub.tokenSecret.name=hf", "hub.offline=true", "extraArgs={--max-tokens,256}"}, func(t *testing.T, d decoded) {
				expect(t, len(d.pvcs) == 1 && len(d.scaled) == 1 && len(d.monitors) == 1 && len(d.hpas) == 0, "claim, ScaledObject, ServiceMonitor, no HPA")
				pod := d.deployments[0].Spec.Template.Spec
				expect(t, pod.Volumes[0].PersistentVolumeClaim.ClaimName == d.pvcs[0].Name, "the pod mounts the claim")
				expect(t, d.scaled[0].Spec.ScaleTargetRef.Name == d.deployments[0].Name && d.scaled[0].Spec.Triggers[0].Type == "prometheus", "KEDA scales the deployment")
				env := map[string]corev1.EnvVar{}
				for _, e := range pod.Containers[0].Env {
					env[e.Name] = e
				}
				expect(t, env["HF_TOKEN"].ValueFrom.SecretKeyRef.Name == "hf" && env["HF_HUB_OFFLINE"].Value == "1", "token from the secret, offline")
				expect(t, strings.Contains(strings.Join(pod.Containers[0].Args, " "), "--max-tokens 256"), "extra args")
			}},
		{"fixed replicas", nil, []string{"autoscaling.enabled=false", "replicaCount=3", "podDisruptionBudget.enabled=false"}, func(t *testing.T, d decoded) {
			expect(t, len(d.hpas) == 0 && len(d.pdbs) == 0 && *d.deployments[0].Spec.Replicas == 3, "three replicas, no HPA or PDB")
		}},
	} {
		t.Run(c.name, func(t *testing.T) { c.check(t, decodeAll(t, render(t, c.files, c.sets...))) })
	}
}

// TestChartRefusesNoModels: a release without models fails to render.
func TestChartRefusesNoModels(t *testing.T) {
	out, err := exec.Command(helmPath(t), "template", "rel", filepath.Join("..", "helm", "lumen"), "--set", "models=null").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "values.models must name at least one model") {
		t.Fatalf("rendered without models: %v\n%s", err, out)
	}
}

func expect(t *testing.T, ok bool, what string) {
	t.Helper()
	if !ok {
		t.Fatal(what)
	}
}

// TestStrictDecodingCatchesUnknownFields: a value that lands as an unknown field of
// the pod's security context is refused, not ignored.
func TestStrictDecodingCatchesUnknownFields(t *testing.T) {
	for _, doc := range render(t, nil, "podSecurityContext.runAsUsr=1") {
		var head struct{ Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil || head.Kind != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		if err := strict(doc, &d); err == nil || !strings.Contains(err.Error(), "runAsUsr") {
			t.Fatalf("a misspelt field decoded: %v", err)
		}
		return
	}
	t.Fatal("no Deployment rendered")
}
