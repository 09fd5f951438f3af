/**
 * Turns onnxruntime's telemetry off for this process unless the user chose otherwise.
 *
 * onnxruntime 1.29+ ships Microsoft 1DS telemetry on Linux and macOS, on by default: every process
 * that creates a session writes a device id and an event cache (`onnxruntime.db`) under
 * `$XDG_CACHE_HOME` or `~/.cache/Microsoft/DeveloperTools/.onnxruntime/`, leaves an empty
 * `/tmp/mat-debug-<pid>.log`, and uploads events naming the model file, graph, producer, hashes
 * and the machine's CPU and memory whenever it can reach the network. A data pipeline must not
 * report its users' models from their machines. `ORT_DISABLE_TELEMETRY=1` is onnxruntime's full
 * opt-out (nothing created, nothing sent), read once when its environment starts: this module is
 * imported for its side effect before `onnxruntime-node`. A user who sets the variable (`0` keeps
 * telemetry on) is left alone.
 */
process.env['ORT_DISABLE_TELEMETRY'] ??= '1';
