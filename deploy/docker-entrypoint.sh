#!/bin/sh
# Entry point of the rustfs-workers image: the first argument names the service.
set -eu
svc="${1:-help}"
case "$svc" in
  help | --help | -h)
    echo "usage: docker run rustfs-workers <service> | rfw <args>"
    echo "services:"
    for d in /app/services/*/; do
      name="$(basename "$d")"
      [ -f "$d/dist/main.js" ] && echo "  $name"
    done
    exit 0
    ;;
  rfw)
    shift
    exec node /app/libs/cli/bin/rfw.js "$@"
    ;;
  *)
    main="/app/services/$svc/dist/main.js"
    if [ ! -f "$main" ]; then
      echo "unknown service: $svc (run with 'help' to list them)" >&2
      exit 64
    fi
    shift
    exec node "$main" "$@"
    ;;
esac
