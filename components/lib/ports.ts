/**
 * Ports of the two load-balancer rules. The app listens on BOTH backend ports (same handler); the
 * staging rule uses its own backend port so the NSG, which sees backend ports, can limit staging
 * traffic to `stagingAllowedCidrs` while production stays open.
 *
 *   production: LB frontend :80   -> VM :8080   (pool of liveColor), open to the Internet
 *   staging:    LB frontend :8080 -> VM :8081   (pool of the idle color), only from stagingAllowedCidrs
 *   probe:      HTTP GET /health on VM :8080, from AzureLoadBalancer
 */
export const PORTS = {
    productionFrontend: 80,
    productionBackend: 8080,
    stagingFrontend: 8080,
    stagingBackend: 8081,
    /** The local proxy's Prometheus endpoint on each app VM (docs/local-proxy.md), reachable from the VNet only. */
    metrics: 8405,
} as const;

/** The path of the load balancer's HTTP health probe (200 = in rotation). */
export const HEALTH_PATH = "/health";
