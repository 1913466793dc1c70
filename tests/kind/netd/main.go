// Command airflow-k8s-netd is the pod network of the offline test cluster.
//
// It runs as a host-network DaemonSet on every node and
//   - writes the node's CNI configuration (standard ptp + host-local + portmap
//     plugins, using the node's spec.podCIDR),
//   - routes other nodes' pod CIDRs to those nodes,
//   - masquerades traffic leaving the pod network,
//   - enforces Kubernetes NetworkPolicy with iptables rules for the pods on
//     its node (ingress and egress, pod/namespace selectors, ipBlocks, ports).
//
// With the ptp plugin every packet between pods crosses the node's network
// namespace, so the filter table's FORWARD chain (pod to pod) and INPUT chain
// (pod to node) see all pod traffic.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listerscorev1 "k8s.io/client-go/listers/core/v1"
	listersnetworkingv1 "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

const (
	chainPrefix  = "AFK-"
	forwardChain = "AFK-FORWARD"
	inputChain   = "AFK-INPUT"
	outputChain  = "AFK-OUTPUT"
	natChain     = "AFK-POSTROUTING"
	// allowMark is the packet-mark bit set by an allow rule while a packet
	// walks a pod's policy chain; it is cleared again before leaving the chain.
	allowMark = "0x20000"
)

type daemon struct {
	nodeName   string
	podSubnet  string
	cniConfDir string
	mtu        int

	client     kubernetes.Interface
	pods       listerscorev1.PodLister
	namespaces listerscorev1.NamespaceLister
	nodes      listerscorev1.NodeLister
	policies   listersnetworkingv1.NetworkPolicyLister

	lastRules string
}

func main() {
	d := &daemon{}
	flag.StringVar(&d.nodeName, "node-name", os.Getenv("NODE_NAME"), "name of the node this daemon runs on")
	flag.StringVar(&d.podSubnet, "pod-subnet", os.Getenv("POD_SUBNET"), "cluster-wide pod CIDR")
	flag.StringVar(&d.cniConfDir, "cni-conf-dir", "/etc/cni/net.d", "directory of CNI configuration files")
	flag.IntVar(&d.mtu, "mtu", 1500, "MTU of pod interfaces")
	resync := flag.Duration("resync", 30*time.Second, "full resync period")
	klog.InitFlags(nil)
	flag.Parse()
	if d.nodeName == "" {
		klog.Fatal("--node-name (or env NODE_NAME) is required")
	}

	cfg, err := rest.InClusterConfig()
	if err != nil {
		klog.Fatalf("in-cluster config: %v", err)
	}
	// Before kube-proxy programs the service VIP, the API server is only
	// reachable directly; kind passes its address in CONTROL_PLANE_ENDPOINT.
	if ep := os.Getenv("CONTROL_PLANE_ENDPOINT"); ep != "" {
		cfg.Host = "https://" + ep
	}
	d.client = kubernetes.NewForConfigOrDie(cfg)

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()

	factory := informers.NewSharedInformerFactory(d.client, 0)
	d.pods = factory.Core().V1().Pods().Lister()
	d.namespaces = factory.Core().V1().Namespaces().Lister()
	d.nodes = factory.Core().V1().Nodes().Lister()
	d.policies = factory.Networking().V1().NetworkPolicies().Lister()

	trigger := make(chan struct{}, 1)
	poke := func() {
		select {
		case trigger <- struct{}{}:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(interface{}) { poke() },
		UpdateFunc: func(interface{}, interface{}) { poke() },
		DeleteFunc: func(interface{}) { poke() },
	}
	for _, inf := range []cache.SharedIndexInformer{
		factory.Core().V1().Pods().Informer(),
		factory.Core().V1().Namespaces().Informer(),
		factory.Core().V1().Nodes().Informer(),
		factory.Networking().V1().NetworkPolicies().Informer(),
	} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			klog.Fatalf("event handler: %v", err)
		}
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			klog.Fatalf("cache for %v did not sync", typ)
		}
	}
	klog.Infof("caches synced; node %s", d.nodeName)

	if err := writeSysctl("/proc/sys/net/ipv4/ip_forward", "1"); err != nil {
		klog.Warningf("enabling ip_forward: %v", err)
	}

	ticker := time.NewTicker(*resync)
	defer ticker.Stop()
	for {
		if err := d.sync(); err != nil {
			klog.Errorf("sync: %v", err)
		}
		select {
		case <-ctx.Done():
			klog.Info("terminating; rules stay in place until the next start")
			return
		case <-ticker.C:
		case <-trigger:
			// debounce bursts of events into one sync
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func writeSysctl(path, value string) error {
	cur, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(cur)) == value {
		return nil
	}
	return os.WriteFile(path, []byte(value), 0o644)
}

func (d *daemon) sync() error {
	node, err := d.nodes.Get(d.nodeName)
	if err != nil {
		return fmt.Errorf("own node: %w", err)
	}
	if node.Spec.PodCIDR == "" {
		return fmt.Errorf("node %s has no spec.podCIDR yet", d.nodeName)
	}
	// Rules first: no pod may start (which needs the CNI config) before
	// traffic to unanswered service IPs is rejected on this node.
	if err := d.syncRules(node.Spec.PodCIDR); err != nil {
		return err
	}
	if err := d.syncRoutes(node); err != nil {
		klog.Errorf("routes: %v", err)
	}
	return d.writeCNIConfig(node.Spec.PodCIDR)
}

// writeCNIConfig writes the CNI network list for this node, if it changed.
func (d *daemon) writeCNIConfig(podCIDR string) error {
	conf := map[string]interface{}{
		"cniVersion": "1.0.0",
		"name":       "airflow-k8s",
		"plugins": []interface{}{
			map[string]interface{}{
				"type":   "ptp",
				"ipMasq": false,
				"mtu":    d.mtu,
				"ipam": map[string]interface{}{
					"type":   "host-local",
					"ranges": [][]map[string]string{{{"subnet": podCIDR}}},
					"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]interface{}{
				"type":         "portmap",
				"capabilities": map[string]bool{"portMappings": true},
			},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(d.cniConfDir, "10-airflow-k8s.conflist")
	if cur, err := os.ReadFile(path); err == nil && string(cur) == string(data) {
		return nil
	}
	if err := os.MkdirAll(d.cniConfDir, 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	klog.Infof("writing CNI configuration %s for pod CIDR %s", path, podCIDR)
	return os.Rename(tmp, path)
}

// syncRoutes routes every other node's pod CIDR via that node's internal IP.
func (d *daemon) syncRoutes(self *corev1.Node) error {
	nodes, err := d.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Name == self.Name || n.Spec.PodCIDR == "" {
			continue
		}
		ip := nodeInternalIP(n)
		if ip == "" {
			continue
		}
		if out, err := exec.Command("ip", "route", "replace", n.Spec.PodCIDR, "via", ip).CombinedOutput(); err != nil {
			return fmt.Errorf("ip route replace %s via %s: %v: %s", n.Spec.PodCIDR, ip, err, out)
		}
	}
	return nil
}

func nodeInternalIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP && !strings.Contains(a.Address, ":") {
			return a.Address
		}
	}
	return ""
}

// ruleSet collects iptables-restore lines for one table.
type ruleSet struct {
	chains []string
	rules  []string
}

func (r *ruleSet) chain(name string) { r.chains = append(r.chains, name) }
func (r *ruleSet) add(chain string, args ...string) {
	r.rules = append(r.rules, "-A "+chain+" "+strings.Join(args, " "))
}

func chainName(kind string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return chainPrefix + kind + "-" + strings.ToUpper(hex.EncodeToString(sum[:]))[:16]
}

// syncRules computes and applies the filter and nat rules.
func (d *daemon) syncRules(podCIDR string) error {
	serviceCIDRs, err := d.serviceCIDRs()
	if err != nil {
		return err
	}
	filter := &ruleSet{}
	filter.chain(forwardChain)
	filter.chain(inputChain)
	filter.chain(outputChain)
	for _, c := range []string{forwardChain, inputChain, outputChain} {
		filter.add(c, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN")
	}
	// Service IPs are virtual: kube-proxy translates every connection to one.
	// One that reaches the filter table untranslated (kube-proxy not started
	// yet, or no such service) must not leave the node for the default route.
	for _, cidr := range serviceCIDRs {
		for _, c := range []string{forwardChain, outputChain} {
			filter.add(c, "-d", cidr, "-m", "conntrack", "--ctstate", "NEW", "-m", "conntrack", "!", "--ctstate", "DNAT",
				"-j", "REJECT", "--reject-with", "icmp-net-unreachable")
		}
	}

	pods, err := d.pods.List(labels.Everything())
	if err != nil {
		return err
	}
	policies, err := d.policies.List(labels.Everything())
	if err != nil {
		return err
	}
	sort.Slice(policies, func(i, j int) bool {
		return policies[i].Namespace+"/"+policies[i].Name < policies[j].Namespace+"/"+policies[j].Name
	})
	sort.Slice(pods, func(i, j int) bool {
		return pods[i].Namespace+"/"+pods[i].Name < pods[j].Namespace+"/"+pods[j].Name
	})

	for _, pod := range pods {
		if pod.Spec.NodeName != d.nodeName || !hasPodNetworkIP(pod) {
			continue
		}
		var ingress, egress []*networkingv1.NetworkPolicy
		for _, np := range policies {
			if np.Namespace != pod.Namespace || !selects(&np.Spec.PodSelector, pod.Labels) {
				continue
			}
			in, out := policyTypes(np)
			if in {
				ingress = append(ingress, np)
			}
			if out {
				egress = append(egress, np)
			}
		}
		ip := pod.Status.PodIP + "/32"
		if len(egress) > 0 {
			c := chainName("E", pod.Namespace, pod.Name)
			d.podChain(filter, c, pod, egress, false)
			filter.add(forwardChain, "-s", ip, "-j", c)
			filter.add(inputChain, "-s", ip, "-j", c)
		}
		if len(ingress) > 0 {
			c := chainName("I", pod.Namespace, pod.Name)
			d.podChain(filter, c, pod, ingress, true)
			filter.add(forwardChain, "-d", ip, "-j", c)
		}
	}

	nat := &ruleSet{}
	nat.chain(natChain)
	nat.add(natChain, "-s", podCIDR, "-d", d.clusterPodCIDR(podCIDR), "-j", "RETURN")
	nat.add(natChain, "-s", podCIDR, "-m", "addrtype", "!", "--dst-type", "LOCAL", "-j", "MASQUERADE")

	existing, err := existingChains()
	if err != nil {
		return err
	}
	input := restoreInput("filter", filter, existing["filter"]) + restoreInput("nat", nat, existing["nat"])
	if input != d.lastRules {
		cmd := exec.Command("iptables-restore", "-w", "5", "--noflush")
		cmd.Stdin = strings.NewReader(input)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("iptables-restore: %v: %s\ninput:\n%s", err, out, input)
		}
		klog.Infof("applied %d filter rules, %d nat rules", len(filter.rules), len(nat.rules))
		d.lastRules = input
	}
	if err := ensureJumpFirst("filter", "FORWARD", forwardChain); err != nil {
		return err
	}
	if err := ensureJumpFirst("filter", "INPUT", inputChain); err != nil {
		return err
	}
	if err := ensureJumpFirst("filter", "OUTPUT", outputChain); err != nil {
		return err
	}
	return ensureJumpFirst("nat", "POSTROUTING", natChain)
}

// serviceCIDRs lists the cluster's service IP ranges (ServiceCIDR objects,
// GA since Kubernetes 1.33).
func (d *daemon) serviceCIDRs() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := d.client.NetworkingV1().ServiceCIDRs().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing ServiceCIDRs: %w", err)
	}
	var out []string
	for _, sc := range list.Items {
		for _, c := range sc.Spec.CIDRs {
			if !strings.Contains(c, ":") {
				out = append(out, c)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func (d *daemon) clusterPodCIDR(fallback string) string {
	if d.podSubnet != "" {
		return d.podSubnet
	}
	return fallback
}

// podChain writes the policy chain of one pod: a packet is allowed when any
// rule of any selecting policy marks it, and dropped otherwise.
func (d *daemon) podChain(rs *ruleSet, chain string, pod *corev1.Pod, nps []*networkingv1.NetworkPolicy, ingress bool) {
	rs.chain(chain)
	clear := []string{"-j", "MARK", "--set-xmark", "0x0/" + allowMark}
	allow := []string{"-j", "MARK", "--set-xmark", allowMark + "/" + allowMark}
	rs.add(chain, clear...)
	peerFlag := "-d"
	if ingress {
		peerFlag = "-s"
	}
	for _, np := range nps {
		type rule struct {
			peers []networkingv1.NetworkPolicyPeer
			ports []networkingv1.NetworkPolicyPort
		}
		var rules []rule
		if ingress {
			for _, r := range np.Spec.Ingress {
				rules = append(rules, rule{r.From, r.Ports})
			}
		} else {
			for _, r := range np.Spec.Egress {
				rules = append(rules, rule{r.To, r.Ports})
			}
		}
		for ri, r := range rules {
			if len(r.peers) == 0 {
				// every peer: the ports alone decide
				for _, pm := range d.portMatches(r.ports, pod, ingress, nil) {
					rs.add(chain, append(pm, allow...)...)
				}
				continue
			}
			for pi, peer := range r.peers {
				if peer.IPBlock != nil {
					pms := d.portMatches(r.ports, pod, ingress, nil)
					if len(peer.IPBlock.Except) == 0 {
						for _, pm := range pms {
							rs.add(chain, append(append([]string{peerFlag, peer.IPBlock.CIDR}, pm...), allow...)...)
						}
						continue
					}
					sub := chainName("B", chain, np.Namespace, np.Name, fmt.Sprint(ri), fmt.Sprint(pi))
					rs.chain(sub)
					for _, ex := range peer.IPBlock.Except {
						rs.add(sub, peerFlag, ex, "-j", "RETURN")
					}
					rs.add(sub, append([]string{peerFlag, peer.IPBlock.CIDR}, allow...)...)
					for _, pm := range pms {
						rs.add(chain, append(pm, "-j", sub)...)
					}
					continue
				}
				for _, peerPod := range d.peerPods(np.Namespace, peer) {
					for _, pm := range d.portMatches(r.ports, pod, ingress, peerPod) {
						rs.add(chain, append(append([]string{peerFlag, peerPod.Status.PodIP + "/32"}, pm...), allow...)...)
					}
				}
			}
		}
	}
	rs.add(chain, "-m", "mark", "!", "--mark", allowMark+"/"+allowMark, "-j", "DROP")
	rs.add(chain, clear...)
}

// portMatches turns NetworkPolicyPorts into iptables match arguments; an empty
// list matches every port. Named ports are resolved against the pod that owns
// the port: the selected pod for ingress, the peer pod for egress.
func (d *daemon) portMatches(ports []networkingv1.NetworkPolicyPort, pod *corev1.Pod, ingress bool, peer *corev1.Pod) [][]string {
	if len(ports) == 0 {
		return [][]string{{}}
	}
	var out [][]string
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		m := []string{"-p", strings.ToLower(string(proto))}
		switch {
		case p.Port == nil:
			out = append(out, m)
		case p.Port.Type == intstr.Int:
			dport := fmt.Sprint(p.Port.IntVal)
			if p.EndPort != nil {
				dport += ":" + fmt.Sprint(*p.EndPort)
			}
			out = append(out, append(m, "--dport", dport))
		default:
			owner := peer
			if ingress {
				owner = pod
			}
			if owner == nil {
				continue // a named port of an unknown pod matches nothing
			}
			if n, ok := namedPort(owner, p.Port.StrVal, proto); ok {
				out = append(out, append(m, "--dport", fmt.Sprint(n)))
			}
		}
	}
	return out
}

func namedPort(pod *corev1.Pod, name string, proto corev1.Protocol) (int32, bool) {
	for _, c := range pod.Spec.Containers {
		for _, cp := range c.Ports {
			p := cp.Protocol
			if p == "" {
				p = corev1.ProtocolTCP
			}
			if cp.Name == name && p == proto {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// peerPods lists the pods a pod/namespace-selector peer designates.
func (d *daemon) peerPods(policyNamespace string, peer networkingv1.NetworkPolicyPeer) []*corev1.Pod {
	var nsNames []string
	if peer.NamespaceSelector == nil {
		nsNames = []string{policyNamespace}
	} else {
		sel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
		if err != nil {
			return nil
		}
		nss, err := d.namespaces.List(sel)
		if err != nil {
			return nil
		}
		for _, ns := range nss {
			nsNames = append(nsNames, ns.Name)
		}
	}
	podSel := labels.Everything()
	if peer.PodSelector != nil {
		s, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
		if err != nil {
			return nil
		}
		podSel = s
	}
	var out []*corev1.Pod
	for _, ns := range nsNames {
		pods, err := d.pods.Pods(ns).List(podSel)
		if err != nil {
			continue
		}
		for _, p := range pods {
			if hasPodNetworkIP(p) {
				out = append(out, p)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name })
	return out
}

func hasPodNetworkIP(p *corev1.Pod) bool {
	return !p.Spec.HostNetwork && p.Status.PodIP != "" && !strings.Contains(p.Status.PodIP, ":") &&
		p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

func selects(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(l))
}

// policyTypes reports whether a policy isolates its pods for ingress / egress.
func policyTypes(np *networkingv1.NetworkPolicy) (ingress, egress bool) {
	if len(np.Spec.PolicyTypes) == 0 {
		return true, len(np.Spec.Egress) > 0
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

// existingChains lists our chains currently present, per table.
func existingChains() (map[string][]string, error) {
	out := map[string][]string{}
	for _, table := range []string{"filter", "nat"} {
		b, err := exec.Command("iptables-save", "-t", table).Output()
		if err != nil {
			return nil, fmt.Errorf("iptables-save -t %s: %w", table, err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, ":"+chainPrefix) {
				out[table] = append(out[table], strings.Fields(line[1:])[0])
			}
		}
	}
	return out, nil
}

// restoreInput renders one table for `iptables-restore --noflush`: declaring a
// chain flushes it, so the whole ruleset is replaced atomically; chains no
// longer wanted are flushed and deleted.
func restoreInput(table string, rs *ruleSet, existing []string) string {
	var b strings.Builder
	b.WriteString("*" + table + "\n")
	wanted := map[string]bool{}
	for _, c := range rs.chains {
		wanted[c] = true
		b.WriteString(":" + c + " - [0:0]\n")
	}
	var stale []string
	for _, c := range existing {
		if !wanted[c] {
			stale = append(stale, c)
			b.WriteString(":" + c + " - [0:0]\n")
		}
	}
	for _, r := range rs.rules {
		b.WriteString(r + "\n")
	}
	for _, c := range stale {
		b.WriteString("-X " + c + "\n")
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// ensureJumpFirst makes `-j target` the first rule of a built-in chain, so
// that policy decisions come before anything that ACCEPTs (kube-proxy).
func ensureJumpFirst(table, builtin, target string) error {
	out, err := exec.Command("iptables", "-w", "5", "-t", table, "-S", builtin).Output()
	if err != nil {
		return fmt.Errorf("iptables -S %s: %w", builtin, err)
	}
	want := "-A " + builtin + " -j " + target
	var rules []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(l, "-A ") {
			rules = append(rules, l)
		}
	}
	if len(rules) > 0 && rules[0] == want {
		count := 0
		for _, r := range rules {
			if r == want {
				count++
			}
		}
		if count == 1 {
			return nil
		}
	}
	for _, r := range rules {
		if r == want {
			if out, err := exec.Command("iptables", "-w", "5", "-t", table, "-D", builtin, "-j", target).CombinedOutput(); err != nil {
				return fmt.Errorf("iptables -D %s: %v: %s", builtin, err, out)
			}
		}
	}
	if out, err := exec.Command("iptables", "-w", "5", "-t", table, "-I", builtin, "1", "-j", target).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables -I %s: %v: %s", builtin, err, out)
	}
	klog.Infof("inserted -j %s at the top of %s/%s", target, table, builtin)
	return nil
}
