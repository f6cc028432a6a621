"""Fictitious but plausible Lyon places for the demo: streets, metro stations, social-housing residences."""

from __future__ import annotations

# A few real street names per arrondissement; house numbers are drawn at random, so no address is real.
STREETS: dict[str, tuple[str, ...]] = {
    "69381": ("rue de la République", "rue Herbouville", "place des Terreaux", "rue d'Algérie", "montée de la Grande-Côte", "rue Paul Chenavard", "quai Saint-Vincent"),
    "69382": ("rue Victor Hugo", "rue de la Charité", "place Bellecour", "rue Mercière", "cours de Verdun", "quai Perrache", "rue de Brest"),
    "69383": ("cours Lafayette", "rue Paul Bert", "avenue Félix Faure", "rue Garibaldi", "cours Gambetta", "rue Moncey", "boulevard Vivier Merle"),
    "69384": ("boulevard de la Croix-Rousse", "Grande Rue de la Croix-Rousse", "rue d'Ivry", "rue Hénon", "rue de Belfort"),
    "69385": ("rue Saint-Jean", "quai Fulchiron", "avenue du Point du Jour", "rue Saint-Georges", "montée du Chemin Neuf"),
    "69386": ("cours Franklin Roosevelt", "boulevard des Belges", "rue Vendôme", "avenue Maréchal Foch", "rue Duguesclin"),
    "69387": ("avenue Jean Jaurès", "rue de Marseille", "place Gabriel Péri", "rue Sébastien Gryphe", "grande rue de la Guillotière", "avenue Tony Garnier", "rue de Gerland"),
    "69388": ("avenue des Frères Lumière", "boulevard des États-Unis", "avenue Général Frère", "rue Marius Berliet", "avenue Paul Santy", "avenue Jean Mermoz"),
    "69389": ("avenue du Plateau", "rue de Bourgogne", "avenue Sidoine Apollinaire", "rue Marietton", "quai Paul Sédallian"),
}

# Metro and tram stations (approximate positions), line, relative weight of incidents.
STATIONS: tuple[tuple[str, str, float, float, float], ...] = (
    ("Perrache", "Métro A", 4.8262, 45.7497, 2.5),
    ("Ampère - Victor Hugo", "Métro A", 4.8297, 45.7530, 0.8),
    ("Bellecour", "Métro A", 4.8331, 45.7578, 3.0),
    ("Cordeliers", "Métro A", 4.8358, 45.7634, 1.5),
    ("Hôtel de Ville - Louis Pradel", "Métro A", 4.8360, 45.7673, 2.5),
    ("Foch", "Métro A", 4.8446, 45.7687, 0.6),
    ("Masséna", "Métro A", 4.8527, 45.7697, 0.5),
    ("Saxe - Gambetta", "Métro B", 4.8475, 45.7539, 1.5),
    ("Place Guichard", "Métro B", 4.8475, 45.7590, 0.7),
    ("Gare Part-Dieu - Vivier Merle", "Métro B", 4.8601, 45.7610, 4.0),
    ("Brotteaux", "Métro B", 4.8590, 45.7666, 0.6),
    ("Jean Macé", "Métro B", 4.8420, 45.7457, 1.5),
    ("Place Jean Jaurès", "Métro B", 4.8385, 45.7379, 0.6),
    ("Debourg", "Métro B", 4.8367, 45.7311, 0.5),
    ("Croix-Paquet", "Métro C", 4.8359, 45.7703, 0.4),
    ("Croix-Rousse", "Métro C", 4.8319, 45.7744, 0.7),
    ("Hénon", "Métro C", 4.8265, 45.7785, 0.5),
    ("Gare de Vaise", "Métro D", 4.8048, 45.7806, 1.2),
    ("Valmy", "Métro D", 4.8057, 45.7745, 0.6),
    ("Gorge de Loup", "Métro D", 4.8046, 45.7660, 1.0),
    ("Vieux Lyon", "Métro D", 4.8270, 45.7600, 1.0),
    ("Guillotière", "Métro D", 4.8425, 45.7558, 2.0),
    ("Garibaldi", "Métro D", 4.8537, 45.7511, 0.7),
    ("Sans Souci", "Métro D", 4.8640, 45.7483, 0.5),
    ("Monplaisir - Lumière", "Métro D", 4.8708, 45.7455, 0.7),
    ("Grange Blanche", "Métro D", 4.8786, 45.7420, 1.0),
    ("Laënnec", "Métro D", 4.8864, 45.7382, 0.5),
    ("Mermoz - Pinel", "Métro D", 4.8896, 45.7307, 1.0),
    ("Hôtel de Région - Montrochet", "Tram T1", 4.8175, 45.7430, 0.5),
    ("États-Unis - Viviani", "Tram T4", 4.8645, 45.7305, 0.7),
)

# Social-housing residences: landlord, residence, street, arrondissement, relative weight.
RESIDENCES: tuple[tuple[str, str, str, str, float], ...] = (
    ("GrandLyon Habitat", "Résidence Balmont", "avenue du Plateau", "69389", 3.0),
    ("GrandLyon Habitat", "Résidence Sauvegarde", "avenue Rosa Parks", "69389", 2.5),
    ("Lyon Métropole Habitat", "Résidence Mermoz Nord", "avenue Jean Mermoz", "69388", 3.0),
    ("Lyon Métropole Habitat", "Résidence Langlet-Santy", "avenue Paul Santy", "69388", 2.0),
    ("GrandLyon Habitat", "Cité Tony Garnier", "boulevard des États-Unis", "69388", 2.5),
    ("SACVL", "Résidence Moncey", "rue Moncey", "69383", 1.5),
    ("Alliade Habitat", "Résidence Gerland", "rue de Gerland", "69387", 1.0),
    ("Lyon Métropole Habitat", "Résidence Guillotière", "rue Sébastien Gryphe", "69387", 1.2),
    ("SACVL", "Résidence Croix-Rousse", "rue d'Ivry", "69384", 0.5),
    ("Alliade Habitat", "Résidence Vaise", "rue de Bourgogne", "69389", 0.8),
    ("GrandLyon Habitat", "Résidence Point du Jour", "avenue du Point du Jour", "69385", 0.6),
    ("SACVL", "Résidence Part-Dieu", "rue Paul Bert", "69383", 0.7),
    ("Lyon Métropole Habitat", "Résidence Pentes", "montée de la Grande-Côte", "69381", 0.5),
    ("Alliade Habitat", "Résidence Brotteaux", "rue Vendôme", "69386", 0.3),
)

# Quarters where mediators work (names as in observatory/data/lyon_quarters.csv) and their weight.
MEDIATION_QUARTERS: dict[str, float] = {
    "La Duchère": 4.0, "Mermoz": 3.0, "États-Unis": 3.0, "Langlet-Santy": 2.0, "Moncey": 2.5, "Guillotière": 3.0,
    "Terreaux": 1.5, "Presqu'île": 1.5, "Part-Dieu": 1.2, "Vaise": 0.8, "Gerland": 0.8, "Pentes de la Croix-Rousse": 1.0,
    "Perrache": 0.8, "Vieux Lyon": 0.5, "Croix-Rousse": 0.4, "Confluence": 0.4, "Montchat": 0.2, "Brotteaux": 0.2,
}

# Places in neighbouring communes, well beyond the city's 500 m tolerance: a defect "point outside the city".
OUTSIDE_POINTS: tuple[tuple[float, float], ...] = (
    (4.9000, 45.7700),  # Villeurbanne, east of Gratte-Ciel
    (4.8870, 45.6970),  # Vénissieux centre
    (4.8500, 45.8080),  # Caluire-et-Cuire
    (4.7700, 45.7740),  # Écully
    (4.7550, 45.7600),  # Tassin-la-Demi-Lune
    (4.8000, 45.7000),  # Oullins-Pierre-Bénite
)
