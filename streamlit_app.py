"""GalaxySD app: ``streamlit run streamlit_app.py``. Routes to one file per page in pages/."""

import streamlit as st

from galaxysd.app import ui
from galaxysd.app.appdata import preferred_run
from galaxysd.runs import RunDir

st.set_page_config(page_title="GalaxySD", page_icon=":milky_way:", layout="wide")

PAGES = {
    "Galaxies": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/generate.py", title="Generate", icon=":material/auto_awesome:"),
        st.Page("pages/real_vs_synthetic.py", title="Real vs synthetic", icon=":material/compare:"),
        st.Page("pages/quiz.py", title="Quiz: spot the fake", icon=":material/quiz:"),
        st.Page("pages/interpolate.py", title="Interpolate", icon=":material/animation:"),
    ],
    "Measure": [
        st.Page("pages/metrics.py", title="Metrics", icon=":material/monitoring:"),
        st.Page("pages/explore.py", title="Explore", icon=":material/scatter_plot:"),
    ],
    "Science": [
        st.Page("pages/augmentation.py", title="Augmentation", icon=":material/stacked_bar_chart:"),
        st.Page("pages/candidates.py", title="Candidates", icon=":material/travel_explore:"),
    ],
    "Model": [
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/about.py", title="About", icon=":material/info:"),
    ],
}

ui.warm_up(RunDir(preferred_run()))  # the model loads while the first page renders
st.navigation(PAGES).run()
