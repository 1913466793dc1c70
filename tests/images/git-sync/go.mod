module airflow-k8s.local/git-sync

go 1.24
