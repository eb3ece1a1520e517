module github.com/cango/cango-operator/hack/gateway

go 1.26.0

// Only the CRD manifests of these modules are read (build.sh); nothing is built.
require (
	github.com/kedacore/keda/v2 v2.20.2
	sigs.k8s.io/gateway-api v1.4.1
	sigs.k8s.io/gateway-api-inference-extension v1.6.2
)
