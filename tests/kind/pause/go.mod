module airflow-k8s.local/pause

go 1.24.0
