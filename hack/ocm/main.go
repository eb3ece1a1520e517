// Command ocm is one multi-call binary holding the Open Cluster Management parts that
// the local federation needs: on the hub the registration controller (accepts sites,
// signs their CSRs, watches their leases), the work controller and the placement
// controller (the baseline's multi-cluster scheduler); at a site the klusterlet agent
// (registration and work agents in one process). The part is chosen by the first
// argument; each part's own flags follow.
package main

import (
	goflag "flag"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"

	ocmfeature "open-cluster-management.io/api/feature"
	"open-cluster-management.io/ocm/pkg/cmd/hub"
	"open-cluster-management.io/ocm/pkg/cmd/spoke"
	"open-cluster-management.io/ocm/pkg/features"
)

func main() {
	pflag.CommandLine.SetNormalizeFunc(utilflag.WordSepNormalizeFunc)
	pflag.CommandLine.AddGoFlagSet(goflag.CommandLine)
	logs.AddFlags(pflag.CommandLine)
	logs.InitLogs()
	defer logs.FlushLogs()
	// The hub's feature gates (the agent registers the site's itself).
	utilruntime.Must(features.HubMutableFeatureGate.Add(ocmfeature.DefaultHubRegistrationFeatureGates))
	utilruntime.Must(features.HubMutableFeatureGate.Add(ocmfeature.DefaultHubWorkFeatureGates))
	features.HubMutableFeatureGate.AddFlag(pflag.CommandLine)

	root := &cobra.Command{
		Use:   "ocm",
		Short: "Open Cluster Management parts for the local federation",
		Run: func(cmd *cobra.Command, _ []string) {
			_ = cmd.Help()
			os.Exit(1)
		},
	}
	registration := hub.NewRegistrationController()
	registration.Use = "registration-controller"
	work := hub.NewWorkController()
	work.Use = "work-controller"
	placement := hub.NewPlacementController()
	placement.Use = "placement-controller"
	agent := spoke.NewKlusterletAgentCmd()
	agent.Use = "klusterlet-agent"
	root.AddCommand(registration, work, placement, agent)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		os.Exit(1)
	}
}
