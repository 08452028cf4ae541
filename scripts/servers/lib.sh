# Shared by the start-*.sh scripts (sourced, not run).

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port [FORCED]: prints FORCED if it is free, else a free random loopback port below the
# kernel's ephemeral range: a port in that range can be taken at any moment by the local end of
# an outgoing connection (the load tests open thousands), and the server's bind then fails.
pick_port() {
  local forced=${1:-} candidate low=32768 span
  if [ -n "$forced" ]; then
    if port_in_use "$forced"; then log "port $forced is in use"; return 1; fi
    echo "$forced"; return 0
  fi
  if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
    read -r low _ < /proc/sys/net/ipv4/ip_local_port_range
  fi
  span=$((low - 20000))
  if [ "$span" -lt 1000 ]; then span=1000; fi
  for _ in $(seq 50); do
    candidate=$((20000 + RANDOM % span))
    if ! port_in_use "$candidate"; then echo "$candidate"; return 0; fi
  done
  log "no free port found"; return 1
}
