// Package deploy holds lander's deployment files (compose.yaml, k8s/, the
// embed image's Dockerfile) and the checks that keep them, and the
// repository's Dockerfile, deployable without a Docker engine or a cluster:
//
//   - CheckKubernetes decodes every manifest strictly into the typed
//     Kubernetes API objects (an unknown or mistyped field fails) and checks
//     what schemas cannot: resources, probes on the container port, the
//     Indexed Job's shard count, references to Secrets, ConfigMaps and claims,
//     selectors that agree, lander's own configuration and LANDER_* names.
//   - CheckCompose loads a compose file with compose-spec's loader, which
//     validates it against the compose schema, and checks health checks,
//     dependencies, named volumes and pinned images.
//   - ParseDockerfile and CheckDockerfile read a Dockerfile and check a
//     non-root final stage, pinned base images and the runtime files.
//
// The tests run them on the real files and on deploy/testdata/bad, which each
// check must reject. Nothing here reaches the network.
package deploy
