# Shared by the start-*.sh scripts (sourced, not run).

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port [FORCED]: prints FORCED if it is free, else a free random loopback high port.
pick_port() {
  local forced=${1:-} candidate
  if [ -n "$forced" ]; then
    if port_in_use "$forced"; then log "port $forced is in use"; return 1; fi
    echo "$forced"; return 0
  fi
  for _ in $(seq 50); do
    candidate=$((20000 + RANDOM % 40000))
    if ! port_in_use "$candidate"; then echo "$candidate"; return 0; fi
  done
  log "no free port found"; return 1
}
