// Command controlplane is one multi-call binary holding the control-plane components
// that the local development cluster needs: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kubectl. Linking them once saves
// build time and disk; the component is chosen by the name the binary is called
// under (a symlink such as kube-apiserver) or by the first argument.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

var components = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"}

func run(name string, args []string) int {
	switch name {
	case "etcd":
		// etcdmain reads os.Args itself.
		etcdmain.Main(append([]string{"etcd"}, args...))
		return 0
	case "kube-apiserver":
		cmd := apiserver.NewAPIServerCommand()
		cmd.SetArgs(args)
		return cli.Run(cmd)
	case "kube-controller-manager":
		cmd := controllermanager.NewControllerManagerCommand()
		cmd.SetArgs(args)
		return cli.Run(cmd)
	case "kube-scheduler":
		cmd := scheduler.NewSchedulerCommand()
		cmd.SetArgs(args)
		return cli.Run(cmd)
	case "kubectl":
		cmd := kubectlcmd.NewDefaultKubectlCommand()
		cmd.SetArgs(args)
		if err := cli.RunNoErrOutput(cmd); err != nil {
			kubectlutil.CheckErr(err)
		}
		return 0
	}
	return -1
}

func main() {
	self := strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	if code := run(self, os.Args[1:]); code >= 0 {
		os.Exit(code)
	}
	if len(os.Args) > 1 {
		if code := run(os.Args[1], os.Args[2:]); code >= 0 {
			os.Exit(code)
		}
	}
	fmt.Fprintf(os.Stderr, "usage: %s COMPONENT [flags...]\n(or call it through a link named after the component)\ncomponents: %s\n",
		self, strings.Join(components, ", "))
	os.Exit(2)
}
